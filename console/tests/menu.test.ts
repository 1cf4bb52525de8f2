import { describe, expect, it } from "vitest";
import { menuOf } from "@/layout/menu";
import { postsOf } from "@/session/signin";

describe("the menu", () => {
  const routes = [
    { path: "complaints", component: {}, meta: { title: "nav.complaints", group: "nav.desk", method: "a.S/List" } },
    { path: "complaints/:id", component: {}, meta: { method: "a.S/Get" } },
    { path: "keys", component: {}, meta: { title: "nav.keys", group: "nav.desk", method: "a.K/List" } },
    { path: "units", component: {}, meta: { title: "nav.households", group: "nav.households", method: "a.U/List" } },
  ];

  it("shows only what the post may call, in its groups", () => {
    const menu = menuOf(routes, (m) => m !== "a.K/List");
    expect(menu).toEqual([
      { title: "nav.desk", entries: [{ path: "/complaints", title: "nav.complaints" }] },
      { title: "nav.households", entries: [{ path: "/units", title: "nav.households" }] },
    ]);
    expect(menuOf(routes, () => false)).toEqual([]);
  });
});

describe("choosing a post", () => {
  it("reads POST_REQUIRED's posts", () => {
    expect(postsOf({ b: "quality_officer@headquarters", a: "front_desk@sunshine-garden" })).toEqual([
      { postId: "b", role: "quality_officer", propertyId: "" },
      { postId: "a", role: "front_desk", propertyId: "sunshine-garden" },
    ]);
  });
});
