// The filing form and the list mounted with fake services: the unit found by its label, the
// caller's earlier complaints, the reply deadline before and after filing, the request sent;
// the list's address turned into its ListComplaints request.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory, createRouter } from "vue-router";
import {
  Channel,
  ComplaintSchema,
  ComplaintState,
  Severity,
} from "@/gen/wuye/customerservice/v1/complaints_pb";
import { UnitState } from "@/gen/wuye/customerservice/v1/households_pb";
import { i18n } from "@/i18n";
import { session } from "@/session/session";
import { setTimeZone } from "@/time";

const services: Record<string, Record<string, ReturnType<typeof vi.fn>>> = {};

vi.mock("@/api/clients", () => ({
  client: (service: { typeName: string }) => {
    services[service.typeName] ??= {};
    return new Proxy(services[service.typeName]!, {
      get: (fakes, method: string) => (fakes[method] ??= vi.fn(() => Promise.reject(new ConnectError("no fake", Code.Unimplemented)))),
    });
  },
}));

const CS = "wuye.customerservice.v1";
const COMPLAINTS = `${CS}.ComplaintService`;
const HOUSEHOLDS = `${CS}.HouseholdService`;
const fake = (service: string, method: string) => {
  services[service] ??= {};
  return (services[service][method] ??= vi.fn());
};

const unit = { id: "u-2-2-502", propertyId: "sunshine-garden", label: "2-2-502", state: UnitState.OCCUPIED };

function signIn(methods: string[]) {
  session.value = {
    via: "dev",
    token: "t",
    expiresAt: Date.now() + 3_600_000,
    issuer: "/dev/oidc",
    signIn: "wangfang",
    postId: "p1",
    propertyId: "sunshine-garden",
    access: { personId: "u1", name: "王芳", role: "front_desk", postId: "p1", propertyIds: ["sunshine-garden"], headquarters: false, methods },
  };
}

async function mountAt(path: string, component: () => Promise<{ default: object }>) {
  const { default: screen } = await component();
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: "/complaints", component: screen },
      { path: "/complaints/new", component: screen },
      { path: "/:rest(.*)*", component: { template: "<div />" } },
    ],
  });
  await router.push(path);
  await router.isReady();
  const wrapper = mount(screen, { global: { plugins: [i18n, router] }, attachTo: document.body });
  await flushPromises();
  return wrapper;
}

async function type(selector: string, text: string, change = false) {
  const input = document.querySelector<HTMLInputElement | HTMLTextAreaElement>(`[data-test='${selector}']`)!;
  input.value = text;
  input.dispatchEvent(new Event("input"));
  if (change) input.dispatchEvent(new Event("change"));
  await flushPromises();
}

const wait = (ms: number) => new Promise((done) => setTimeout(done, ms));

beforeEach(() => {
  for (const key of Object.keys(services)) delete services[key];
  i18n.global.locale.value = "zh-CN";
  setTimeZone("Asia/Shanghai");
});

afterEach(() => {
  document.body.innerHTML = "";
  session.value = null;
});

describe("filing a complaint", () => {
  it("finds the unit by its label, shows the caller's complaints and the deadline, and files", async () => {
    signIn([`${COMPLAINTS}/CreateComplaint`, `${COMPLAINTS}/ListComplaints`, `${HOUSEHOLDS}/FindUnit`, `${HOUSEHOLDS}/GetUnit`]);
    fake(`${CS}.PropertyService`, "getProperty").mockResolvedValue({
      settings: { rules: { complaintReplyDaysMinor: 3, complaintReplyDaysGeneral: 2, complaintReplyDaysSerious: 1 } },
    });
    const findUnit = fake(HOUSEHOLDS, "findUnit").mockResolvedValue({ unit });
    const earlier = create(ComplaintSchema, {
      id: "c-3",
      number: 3n,
      category: "卫生",
      description: "楼道无人打扫",
      state: ComplaintState.IN_PROGRESS,
      registerTime: timestampFromDate(new Date("2026-11-20T02:00:00Z")),
    });
    const listComplaints = fake(COMPLAINTS, "listComplaints").mockResolvedValue({ complaints: [earlier], nextPageToken: "" });
    const filed = create(ComplaintSchema, {
      id: "c-9",
      number: 9n,
      severity: Severity.GENERAL,
      state: ComplaintState.REGISTERED,
      replyDueTime: timestampFromDate(new Date("2026-12-05T02:00:00Z")),
    });
    const createComplaint = fake(COMPLAINTS, "createComplaint").mockResolvedValue({ complaint: filed });
    const wrapper = await mountAt("/complaints/new", () => import("@/views/complaints/ComplaintNew.vue"));

    await type("field-name", " 李秀兰 ");
    await type("field-phone", "139 0213 4567");
    await wait(450);
    await flushPromises();
    expect(listComplaints).toHaveBeenCalledWith({ propertyId: "sunshine-garden", complainantPhone: "139 0213 4567", pageSize: 5 });
    expect(wrapper.find("[data-test='caller-history']").text()).toContain("#3");
    expect(wrapper.find("[data-test='caller-history']").text()).toContain("未结案 1 件");

    await type("field-unit", "２栋2单元502", true);
    expect(findUnit).toHaveBeenCalledWith({ propertyId: "sunshine-garden", label: "２栋2单元502" });
    expect(wrapper.find("[data-test='unit-found']").text()).toBe("2-2-502 · 已入住");

    await type("field-category", "维修服务");
    (document.querySelector("[data-test='severity-GENERAL'] input") as HTMLInputElement).click();
    await flushPromises();
    expect(wrapper.find("[data-test='deadline-preview']").text()).toBe("答复期限：登记后 2 天内");
    await type("field-description", "卫生间天花板漏水");

    document.querySelector("[data-test='complaint-form']")!.dispatchEvent(new Event("submit"));
    await flushPromises();
    expect(findUnit).toHaveBeenCalledTimes(1);
    const request = createComplaint.mock.calls[0]![0] as Record<string, unknown>;
    expect(request).toMatchObject({
      propertyId: "sunshine-garden",
      contactNumber: 0n,
      channel: Channel.PHONE,
      complainant: { name: "李秀兰", phone: "139 0213 4567" },
      unitId: "u-2-2-502",
      category: "维修服务",
      description: "卫生间天花板漏水",
      severity: Severity.GENERAL,
    });
    expect(typeof request.requestId).toBe("string");
    expect(wrapper.find("[data-test='created']").text()).toContain("投诉已登记：9 号");
    expect(wrapper.find("[data-test='created-deadline']").text()).toContain("答复期限 2026-12-05 10:00（一般）");
    wrapper.unmount();
  });

  it("says so when the label names no unit, and files nothing", async () => {
    signIn([`${COMPLAINTS}/CreateComplaint`, `${HOUSEHOLDS}/FindUnit`]);
    fake(HOUSEHOLDS, "findUnit").mockRejectedValue(new ConnectError("no unit", Code.NotFound));
    const createComplaint = fake(COMPLAINTS, "createComplaint");
    const wrapper = await mountAt("/complaints/new", () => import("@/views/complaints/ComplaintNew.vue"));
    await type("field-unit", "9-9-909");
    document.querySelector("[data-test='complaint-form']")!.dispatchEvent(new Event("submit"));
    await flushPromises();
    await wait(150);
    await flushPromises();
    expect(wrapper.find("[data-test='complaint-form']").text()).toContain("没有这个房号");
    expect(createComplaint).not.toHaveBeenCalled();
    wrapper.unmount();
  });
});

describe("a complaint from the call and visit log", () => {
  it("keeps the entry's number and starts from what was logged", async () => {
    signIn([`${COMPLAINTS}/CreateComplaint`, `${COMPLAINTS}/GetContactLogEntry`, `${HOUSEHOLDS}/FindUnit`, `${HOUSEHOLDS}/GetUnit`]);
    const getEntry = fake(COMPLAINTS, "getContactLogEntry").mockResolvedValue({
      entry: { number: 4n, channel: Channel.VISIT, caller: { name: "张秀英", phone: "13800138000" }, unitId: unit.id, summary: "投诉保安态度" },
    });
    fake(HOUSEHOLDS, "getUnit").mockResolvedValue({ unit });
    fake(HOUSEHOLDS, "findUnit").mockResolvedValue({ unit });
    const createComplaint = fake(COMPLAINTS, "createComplaint").mockResolvedValue({
      complaint: create(ComplaintSchema, { id: "c-4", number: 4n, severity: Severity.MINOR }),
    });
    const wrapper = await mountAt("/complaints/new?contact=4", () => import("@/views/complaints/ComplaintNew.vue"));
    expect(getEntry).toHaveBeenCalledWith({ propertyId: "sunshine-garden", number: 4n });
    const value = (name: string) => document.querySelector<HTMLInputElement>(`[data-test='field-${name}']`)!.value;
    expect(value("name")).toBe("张秀英");
    expect(value("unit")).toBe("2-2-502");
    expect(value("description")).toBe("投诉保安态度");
    expect(wrapper.text()).toContain("已读取 4 号来电来访登记");
    await type("field-category", "服务态度");
    (document.querySelector("[data-test='severity-MINOR'] input") as HTMLInputElement).click();
    document.querySelector("[data-test='complaint-form']")!.dispatchEvent(new Event("submit"));
    await flushPromises();
    expect(createComplaint.mock.calls[0]![0]).toMatchObject({ contactNumber: 4n, channel: Channel.VISIT, unitId: unit.id });
    wrapper.unmount();
  });
});

describe("the list", () => {
  it("asks for what its address says, the unit found by its label", async () => {
    signIn([`${COMPLAINTS}/ListComplaints`, `${HOUSEHOLDS}/FindUnit`, `${HOUSEHOLDS}/GetUnit`]);
    fake(HOUSEHOLDS, "findUnit").mockResolvedValue({ unit });
    const complaint = create(ComplaintSchema, {
      id: "c-9",
      propertyId: "sunshine-garden",
      number: 9n,
      unitId: unit.id,
      complainant: { name: "李秀兰" },
      severity: Severity.SERIOUS,
      state: ComplaintState.REGISTERED,
      replyDueTime: timestampFromDate(new Date(Date.now() - 2 * 3_600_000)),
    });
    const listComplaints = fake(COMPLAINTS, "listComplaints").mockResolvedValue({ complaints: [complaint], nextPageToken: "n" });
    const wrapper = await mountAt(
      "/complaints?state=REGISTERED&unit=2-2-502&deadline=overdue&from=2026-12-01&to=2026-12-03",
      () => import("@/views/complaints/ComplaintList.vue"),
    );
    const request = listComplaints.mock.calls[0]![0] as Record<string, unknown>;
    expect(request).toMatchObject({
      propertyId: "sunshine-garden",
      state: ComplaintState.REGISTERED,
      unitId: unit.id,
      overdue: true,
      pageToken: "",
    });
    expect(request.registeredFrom).toBeDefined();
    const table = wrapper.find("[data-test='complaint-list']").text();
    expect(table).toContain("李秀兰");
    expect(table).toContain("2-2-502");
    expect(table).toContain("严重");
    expect(table).toMatch(/已逾期 \d+ 小时/);
    expect(wrapper.find("[data-test='more']").exists()).toBe(true);
    wrapper.unmount();
  });
});
