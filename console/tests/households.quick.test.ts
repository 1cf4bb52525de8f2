// The call log's quick entry in jsdom, its calls answered here: Enter logs the entry with the
// unit the typed label means, the number is shown, and the next entry starts empty on the name.
import { create } from "@bufbuild/protobuf";
import { flushPromises, mount } from "@vue/test-utils";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory, createRouter } from "vue-router";
import ElementPlus from "element-plus";
import { ContactEntrySchema, ContactKind, type LogContactRequest } from "@/gen/wuye/customerservice/v1/complaints_pb";
import { UnitSchema } from "@/gen/wuye/customerservice/v1/households_pb";
import { i18n } from "@/i18n";
import { saveSession } from "@/session/session";

const logged: LogContactRequest[] = [];
const units = [
  create(UnitSchema, { id: "u-1", building: "1", entrance: "1", floor: 1, room: "101", label: "1-1-101" }),
  create(UnitSchema, { id: "u-2", building: "1", entrance: "2", floor: 1, room: "101", label: "1-2-101" }),
];

vi.mock("@/api/clients", () => ({
  client: () => ({
    listUnits: () => Promise.resolve({ units, nextPageToken: "" }),
    findUnit: () => Promise.reject(new Error("not asked in these tests")),
    logContact: (req: LogContactRequest) => {
      logged.push(req);
      return Promise.resolve({ entry: create(ContactEntrySchema, { number: BigInt(40 + logged.length), kind: req.kind }) });
    },
  }),
}));

const { default: QuickEntry } = await import("@/views/households/contact-log/QuickEntry.vue");

function mountQuickEntry() {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: "/:p(.*)*", component: { template: "<div />" } }] });
  return mount(QuickEntry, { attachTo: document.body, global: { plugins: [ElementPlus, i18n, router] } });
}

describe("the call log's quick entry", () => {
  beforeEach(() => {
    logged.length = 0;
    document.body.innerHTML = "";
    saveSession({
      via: "dev",
      token: "t",
      expiresAt: Date.now() + 3_600_000,
      issuer: "/dev/oidc",
      signIn: "wangfang",
      postId: "post-1",
      propertyId: "sunshine-garden",
      access: {
        personId: "p",
        name: "王芳",
        role: "front_desk",
        postId: "post-1",
        propertyIds: ["sunshine-garden"],
        headquarters: false,
        methods: [
          "wuye.customerservice.v1.ComplaintService/LogContact",
          "wuye.customerservice.v1.HouseholdService/ListUnits",
        ],
      },
    });
  });

  it("opens on the name, logs on Enter, and starts the next entry empty", async () => {
    const wrapper = mountQuickEntry();
    await flushPromises();
    const name = wrapper.get<HTMLInputElement>('input[data-test="log-name"]');
    expect(document.activeElement).toBe(name.element);
    await name.setValue("李桂英");
    await wrapper.get('input[data-test="log-unit"]').setValue("1栋2单元101");
    await wrapper.get('input[data-test="log-summary"]').setValue("楼道灯不亮");
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ propertyId: "sunshine-garden", unitId: "u-2", summary: "楼道灯不亮", kind: ContactKind.INQUIRY });
    expect(logged[0]!.caller?.name).toBe("李桂英");
    expect(wrapper.get('[data-test="logged"]').text()).toContain("41");
    expect(wrapper.emitted("logged")?.[0]?.[0]).toMatchObject({ number: 41n });
    expect(name.element.value).toBe("");
    expect(wrapper.get<HTMLInputElement>('input[data-test="log-summary"]').element.value).toBe("");
    expect(document.activeElement).toBe(name.element);
    // A retry-safe request id per entry: the next entry is a new one.
    await name.setValue("张三");
    await wrapper.get('input[data-test="log-summary"]').setValue("咨询停车");
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(logged).toHaveLength(2);
    expect(logged[1]!.requestId).not.toBe(logged[0]!.requestId);
    wrapper.unmount();
  });

  it("does not log a unit label it cannot place", async () => {
    const wrapper = mountQuickEntry();
    await flushPromises();
    await wrapper.get('input[data-test="log-unit"]').setValue("9-9-909");
    await wrapper.get('input[data-test="log-summary"]').setValue("咨询");
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(logged).toHaveLength(0);
    // The unit's field is marked (its words are Element Plus's, in a transition jsdom skips).
    expect(wrapper.find('.el-form-item.is-error input[data-test="log-unit"]').exists()).toBe(true);
    // What was typed stays.
    expect(wrapper.get<HTMLInputElement>('input[data-test="log-summary"]').element.value).toBe("咨询");
    wrapper.unmount();
  });
});
