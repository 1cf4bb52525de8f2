// Routes. Each area lists its own (views/<area>/routes.ts); a route's `meta.method` is the
// call its screen is built on, so the menu shows it only to posts the gateway policy lets
// make that call (GetMyAccess), and a deep link to it is refused the same way.
import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";
import { can, session, signedIn } from "@/session/session";
import { renewSignIn } from "@/session/signin";
import { complaintRoutes } from "@/views/complaints/routes";
import { householdRoutes } from "@/views/households/routes";
import { keyRoutes } from "@/views/keys/routes";
import { engineeringRoutes } from "@/views/engineering/routes";
import { archiveRoutes } from "@/views/archives/routes";
import { surveyRoutes } from "@/views/surveys/routes";
import { qualityRoutes } from "@/views/quality/routes";
import { hqRoutes } from "@/views/hq/routes";

declare module "vue-router" {
  interface RouteMeta {
    /** i18n key of the menu entry; routes without one are not in the menu. */
    title?: string;
    /** i18n key of the menu group. */
    group?: string;
    /** The method (`package.Service/Method`) the screen needs. */
    method?: string;
    /** Open without signing in. */
    public?: boolean;
  }
}

export const areaRoutes: RouteRecordRaw[] = [
  ...complaintRoutes,
  ...keyRoutes,
  ...householdRoutes,
  ...engineeringRoutes,
  ...archiveRoutes,
  ...surveyRoutes,
  ...qualityRoutes,
  ...hqRoutes,
];

const routes: RouteRecordRaw[] = [
  { path: "/sign-in", component: () => import("@/views/SignIn.vue"), meta: { public: true } },
  { path: "/signed-in", component: () => import("@/views/SignIn.vue"), meta: { public: true } },
  {
    path: "/",
    component: () => import("@/layout/Shell.vue"),
    children: [
      { path: "", component: () => import("@/views/Home.vue"), meta: { title: "nav.home" } },
      ...areaRoutes,
      { path: ":rest(.*)*", component: () => import("@/views/NotFound.vue") },
    ],
  },
];

export const router = createRouter({ history: createWebHistory(), routes });

router.beforeEach(async (to) => {
  if (to.meta.public) return true;
  // A sign-in that expired while the tab stayed open is renewed when it can be.
  if (!signedIn.value && !(session.value?.access && (await renewSignIn()))) {
    return { path: "/sign-in", query: { returnTo: to.fullPath } };
  }
  if (to.meta.method && !can(to.meta.method)) return { path: "/" };
  return true;
});
