// The complaint's page mounted with fake services: the steps the post is offered, a step's
// form and the request it sends, and a refused step that shows the complaint as it is now.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { nextTick } from "vue";
import { createMemoryHistory, createRouter } from "vue-router";
import { ErrorInfoSchema } from "@/gen/google/rpc/error_details_pb";
import {
  type Complaint,
  ComplaintSchema,
  ComplaintState,
  Severity,
  StepAction,
} from "@/gen/wuye/customerservice/v1/complaints_pb";
import { i18n } from "@/i18n";
import { session } from "@/session/session";

const services: Record<string, Record<string, ReturnType<typeof vi.fn>>> = {};

vi.mock("@/api/clients", () => ({
  client: (service: { typeName: string }) => {
    services[service.typeName] ??= {};
    return new Proxy(services[service.typeName]!, {
      get: (fakes, method: string) => (fakes[method] ??= vi.fn(() => Promise.reject(new ConnectError("no fake", Code.Unimplemented)))),
    });
  },
}));

const COMPLAINTS = "wuye.customerservice.v1.ComplaintService";
const fake = (service: string, method: string) => {
  services[service] ??= {};
  return (services[service][method] ??= vi.fn());
};

function complaint(state: ComplaintState, extra: Partial<Pick<Complaint, "team" | "major">> = {}): Complaint {
  const at = timestampFromDate(new Date("2026-12-03T02:00:00Z"));
  const c = create(ComplaintSchema, {
    id: "c-7",
    propertyId: "sunshine-garden",
    number: 7n,
    complainant: { name: "李秀兰", phone: "13902134567" },
    category: "维修服务",
    description: "卫生间天花板漏水",
    severity: Severity.GENERAL,
    state,
    registerTime: at,
    replyDueTime: timestampFromDate(new Date("2026-12-05T02:00:00Z")),
    registeredBy: { userId: "u1", name: "王芳", role: "front_desk" },
    steps: [
      {
        seq: 1,
        action: StepAction.REGISTER,
        fromState: ComplaintState.REGISTERED,
        toState: ComplaintState.REGISTERED,
        time: at,
        actor: { userId: "u1", name: "王芳", role: "front_desk" },
      },
    ],
  });
  return Object.assign(c, extra);
}

function signInAs(methods: string[]) {
  session.value = {
    via: "dev",
    token: "t",
    expiresAt: Date.now() + 3_600_000,
    issuer: "/dev/oidc",
    signIn: "zhoumin",
    postId: "p1",
    propertyId: "sunshine-garden",
    access: { personId: "u2", name: "周敏", role: "cs_clerk", postId: "p1", propertyIds: ["sunshine-garden"], headquarters: false, methods },
  };
}

async function mountDetail() {
  const { default: ComplaintDetail } = await import("@/views/complaints/ComplaintDetail.vue");
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: "/complaints/:ref", component: ComplaintDetail },
      { path: "/:rest(.*)*", component: { template: "<div />" } },
    ],
  });
  await router.push("/complaints/7");
  await router.isReady();
  const wrapper = mount(ComplaintDetail, { global: { plugins: [i18n, router] }, attachTo: document.body });
  await flushPromises();
  return wrapper;
}

function buttons(): string[] {
  return [...document.querySelectorAll("[data-test^='action-']")].map((b) => b.getAttribute("data-test")!.slice(7));
}

async function submitStep(values: Record<string, string>) {
  const form = document.querySelector<HTMLFormElement>("[data-test='step-form']");
  expect(form).not.toBeNull();
  for (const [name, text] of Object.entries(values)) {
    const input = form!.querySelector<HTMLInputElement | HTMLTextAreaElement>(`[data-test='field-${name}']`)!;
    input.value = text;
    input.dispatchEvent(new Event("input"));
  }
  await flushPromises();
  form!.dispatchEvent(new Event("submit"));
  await flushPromises();
  // Element Plus shows a field's error after a short debounce.
  await new Promise((done) => setTimeout(done, 150));
  await nextTick();
}

describe("the complaint's page", () => {
  beforeEach(() => {
    for (const key of Object.keys(services)) delete services[key];
    i18n.global.locale.value = "zh-CN";
  });

  afterEach(() => {
    document.body.innerHTML = "";
    session.value = null;
  });

  it("offers the post its next step, and sends what its form says", async () => {
    signInAs([`${COMPLAINTS}/GetComplaint`, `${COMPLAINTS}/SendToTeam`, `${COMPLAINTS}/CommunicatePlan`]);
    fake(COMPLAINTS, "getComplaint").mockResolvedValue({ complaint: complaint(ComplaintState.REGISTERED) });
    const sent = complaint(ComplaintState.SENT_TO_TEAM, { team: "维修班" });
    const sendToTeam = fake(COMPLAINTS, "sendToTeam").mockResolvedValue({ complaint: sent });
    const wrapper = await mountDetail();

    expect(fake(COMPLAINTS, "getComplaint")).toHaveBeenCalledWith({ propertyId: "sunshine-garden", number: 7n });
    expect(wrapper.find("[data-test='complaint-title']").text()).toBe("投诉 7 号");
    expect(wrapper.find("[data-test='complaint-state']").text()).toBe("已登记");
    expect(buttons()).toEqual(["SEND_TO_TEAM"]);
    expect(wrapper.find("[data-test='timeline']").text()).toContain("王芳（前台）");

    (document.querySelector("[data-test='action-SEND_TO_TEAM']") as HTMLButtonElement).click();
    await flushPromises();
    await submitStep({ team: " 维修班 ", note: "今天上门" });

    expect(sendToTeam).toHaveBeenCalledWith({
      propertyId: "sunshine-garden",
      complaintId: "c-7",
      team: "维修班",
      note: "今天上门",
    });
    expect(wrapper.find("[data-test='complaint-state']").text()).toBe("已派发班组");
    // The clerk may take no step of the team's.
    expect(buttons()).toEqual([]);
    wrapper.unmount();
  });

  it("shows a refused step's reason and the complaint as it is now", async () => {
    signInAs([`${COMPLAINTS}/GetComplaint`, `${COMPLAINTS}/SendToTeam`]);
    const getComplaint = fake(COMPLAINTS, "getComplaint")
      .mockResolvedValueOnce({ complaint: complaint(ComplaintState.REGISTERED) })
      .mockResolvedValue({ complaint: complaint(ComplaintState.SENT_TO_TEAM, { team: "保洁班" }) });
    const info = create(ErrorInfoSchema, { reason: "STEP_OUT_OF_ORDER", domain: "wuye" });
    fake(COMPLAINTS, "sendToTeam").mockRejectedValue(
      new ConnectError("cannot send to team now", Code.FailedPrecondition, undefined, [{ desc: ErrorInfoSchema, value: info }]),
    );
    const wrapper = await mountDetail();

    (document.querySelector("[data-test='action-SEND_TO_TEAM']") as HTMLButtonElement).click();
    await flushPromises();
    await submitStep({ team: "维修班" });

    expect(document.querySelector(".el-message--error")?.textContent).toContain("投诉当前的处理阶段不能执行这一步");
    expect(getComplaint).toHaveBeenCalledTimes(2);
    expect(wrapper.find("[data-test='complaint-state']").text()).toBe("已派发班组");
    expect(buttons()).toEqual([]);
    wrapper.unmount();
  });

  it("keeps what was typed when a field is refused", async () => {
    signInAs([`${COMPLAINTS}/GetComplaint`, `${COMPLAINTS}/SendToTeam`]);
    fake(COMPLAINTS, "getComplaint").mockResolvedValue({ complaint: complaint(ComplaintState.REGISTERED) });
    const { BadRequestSchema } = await import("@/gen/google/rpc/error_details_pb");
    const bad = create(BadRequestSchema, { fieldViolations: [{ field: "team", description: "must be at most 50 characters" }] });
    fake(COMPLAINTS, "sendToTeam").mockRejectedValue(
      new ConnectError("invalid", Code.InvalidArgument, undefined, [{ desc: BadRequestSchema, value: bad }]),
    );
    const wrapper = await mountDetail();
    (document.querySelector("[data-test='action-SEND_TO_TEAM']") as HTMLButtonElement).click();
    await flushPromises();
    await submitStep({ team: "很长的班组名" });

    const form = document.querySelector("[data-test='step-form']")!;
    expect(form.textContent).toContain("内容过长");
    expect(form.querySelector<HTMLInputElement>("[data-test='field-team']")!.value).toBe("很长的班组名");
    wrapper.unmount();
  });
});
