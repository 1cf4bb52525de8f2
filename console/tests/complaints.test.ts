import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
// The gateway's policy, as deployed: the tests check the screens against it.
import policyText from "../../deploy/policy.toml?raw";
import {
  ComplaintState,
  ComplaintStepSchema,
  CorrectiveActionState,
  Severity,
  StepAction,
} from "@/gen/wuye/customerservice/v1/complaints_pb";
import { EscalationState } from "@/gen/wuye/quality/v1/escalations_pb";
import { offeredCorrectiveSteps } from "@/views/complaints/corrective";
import { linesOf, offeredEscalationSteps } from "@/views/complaints/escalation";
import {
  complaintMethod,
  deadlineOf,
  emptyFilters,
  filtersFromQuery,
  isStale,
  listRequestOf,
  nextDay,
  offeredSteps,
  queryOf,
  replyDays,
  STEPS,
  timelineOf,
} from "@/views/complaints/model";

/** The methods each role may call, read from the gateway's policy (deploy/policy.toml). */
function policyMethods(): Map<string, Set<string>> {
  const text = policyText;
  const byRole = new Map<string, Set<string>>();
  const pattern = /^\[methods\."([^"]+)"\]\s*\nroles\s*=\s*\[([^\]]*)\]/gm;
  for (const [, method, roles] of text.matchAll(pattern)) {
    for (const [, role] of roles!.matchAll(/"([a-z_]+)"/g)) {
      if (!byRole.has(role!)) byRole.set(role!, new Set());
      byRole.get(role!)!.add(method!);
    }
  }
  return byRole;
}

const policy = policyMethods();
const role = (name: string) => (method: string) => policy.get(name)?.has(method) ?? false;
const everything = () => true;
const kinds = (state: ComplaintState, allowed: (m: string) => boolean, major = false) =>
  offeredSteps({ state, major }, allowed).map((s) => s.kind);

describe("the steps offered on a complaint", () => {
  it("follow the complaint's state, main step first", () => {
    expect(kinds(ComplaintState.REGISTERED, everything)).toEqual(["SEND_TO_TEAM", "MARK_MAJOR"]);
    expect(kinds(ComplaintState.SENT_TO_TEAM, everything)).toEqual(["PROPOSE_PLAN", "MARK_MAJOR"]);
    expect(kinds(ComplaintState.PLAN_PROPOSED, everything)).toEqual(["CONFIRM_PLAN", "REJECT_PLAN", "MARK_MAJOR"]);
    expect(kinds(ComplaintState.PLAN_CONFIRMED, everything)).toEqual(["COMMUNICATE_PLAN", "MARK_MAJOR"]);
    expect(kinds(ComplaintState.COMMUNICATED, everything)).toEqual(["START_WORK", "MARK_MAJOR"]);
    expect(kinds(ComplaintState.IN_PROGRESS, everything)).toEqual(["REPORT_HANDLING", "URGE_WORK", "MARK_MAJOR"]);
    expect(kinds(ComplaintState.REPORTED, everything)).toEqual(["TELL_RESULT", "MARK_MAJOR"]);
    expect(kinds(ComplaintState.RESULT_TOLD, everything)).toEqual([
      "CUSTOMER_SATISFIED",
      "CUSTOMER_DISSATISFIED",
      "MARK_MAJOR",
    ]);
    expect(kinds(ComplaintState.CLOSED, everything)).toEqual([]);
  });

  it("never offer marking major twice", () => {
    expect(kinds(ComplaintState.REGISTERED, everything, true)).toEqual(["SEND_TO_TEAM"]);
  });

  it("are those the post's policy allows (deploy/policy.toml)", () => {
    expect(kinds(ComplaintState.REGISTERED, role("front_desk"))).toEqual(["SEND_TO_TEAM"]);
    expect(kinds(ComplaintState.SENT_TO_TEAM, role("front_desk"))).toEqual([]);
    expect(kinds(ComplaintState.SENT_TO_TEAM, role("maintenance_foreman"))).toEqual(["PROPOSE_PLAN"]);
    expect(kinds(ComplaintState.PLAN_PROPOSED, role("project_manager"))).toEqual([
      "CONFIRM_PLAN",
      "REJECT_PLAN",
      "MARK_MAJOR",
    ]);
    expect(kinds(ComplaintState.PLAN_PROPOSED, role("cs_supervisor"))).toEqual([]);
    expect(kinds(ComplaintState.IN_PROGRESS, role("cs_supervisor"))).toEqual(["REPORT_HANDLING", "URGE_WORK"]);
    expect(kinds(ComplaintState.IN_PROGRESS, role("cs_clerk"))).toEqual(["REPORT_HANDLING"]);
    expect(kinds(ComplaintState.REPORTED, role("cs_clerk"))).toEqual([]);
    expect(kinds(ComplaintState.REPORTED, role("cs_supervisor"))).toEqual(["TELL_RESULT"]);
    expect(kinds(ComplaintState.RESULT_TOLD, role("cs_clerk"))).toEqual(["CUSTOMER_SATISFIED", "CUSTOMER_DISSATISFIED"]);
    expect(kinds(ComplaintState.REGISTERED, role("hq_viewer"))).toEqual([]);
  });

  it("each name an RPC of the contract and the policy", () => {
    const known = new Set([...policy.values()].flatMap((s) => [...s]));
    for (const step of STEPS) expect(known, step.rpc).toContain(complaintMethod(step.rpc));
  });

  it("ask for the fields the service requires", () => {
    const required = (kind: string) =>
      STEPS.find((s) => s.kind === kind)!.fields.filter((f) => f.required).map((f) => f.field);
    expect(required("SEND_TO_TEAM")).toEqual(["team"]);
    expect(required("PROPOSE_PLAN")).toEqual(["plan", "remedial_measures"]);
    expect(required("REJECT_PLAN")).toEqual(["reason"]);
    expect(required("CUSTOMER_DISSATISFIED")).toEqual(["comment"]);
    expect(required("CUSTOMER_SATISFIED")).toEqual([]);
    expect(required("MARK_MAJOR")).toEqual(["reason"]);
  });

  it("show the complaint as it is now after someone else moved it", () => {
    expect(isStale("STEP_OUT_OF_ORDER")).toBe(true);
    expect(isStale("COMPLAINT_CLOSED")).toBe(true);
    expect(isStale("ROLE_NOT_ALLOWED")).toBe(false);
  });
});

describe("the timeline", () => {
  const at = (minutes: number) => timestampFromDate(new Date(Date.UTC(2026, 11, 3, 1, minutes)));
  const step = (seq: number, action: StepAction, from: ComplaintState, to: ComplaintState, note = "") =>
    create(ComplaintStepSchema, {
      seq,
      action,
      fromState: from,
      toState: to,
      time: at(seq),
      note,
      actor: { userId: `u${seq}`, name: `人${seq}`, role: "cs_supervisor" },
    });
  const S = ComplaintState;
  const A = StepAction;
  const steps = [
    step(2, A.SEND_TO_TEAM, S.REGISTERED, S.SENT_TO_TEAM, "维修班"),
    step(1, A.REGISTER, S.REGISTERED, S.REGISTERED),
    step(3, A.PROPOSE_PLAN, S.SENT_TO_TEAM, S.PLAN_PROPOSED),
    step(4, A.CONFIRM_PLAN, S.PLAN_PROPOSED, S.PLAN_CONFIRMED),
    step(5, A.COMMUNICATE_PLAN, S.PLAN_CONFIRMED, S.COMMUNICATED),
    step(6, A.START_WORK, S.COMMUNICATED, S.IN_PROGRESS),
    step(7, A.URGE_WORK, S.IN_PROGRESS, S.IN_PROGRESS),
    step(8, A.REPORT_HANDLING, S.IN_PROGRESS, S.REPORTED),
    step(9, A.TELL_RESULT, S.REPORTED, S.RESULT_TOLD),
    step(10, A.CUSTOMER_DISSATISFIED, S.RESULT_TOLD, S.SENT_TO_TEAM, "还是漏水"),
    step(11, A.PROPOSE_PLAN, S.SENT_TO_TEAM, S.PLAN_PROPOSED),
    step(12, A.CONFIRM_PLAN, S.PLAN_PROPOSED, S.PLAN_CONFIRMED),
    step(13, A.COMMUNICATE_PLAN, S.PLAN_CONFIRMED, S.COMMUNICATED),
  ];

  it("keeps the steps in order, in rounds until the customer is satisfied", () => {
    const rounds = timelineOf(steps);
    expect(rounds.map((r) => r.n)).toEqual([1, 2]);
    expect(rounds[0]!.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(rounds[0]!.entries.at(-1)).toMatchObject({
      action: "CUSTOMER_DISSATISFIED",
      from: "RESULT_TOLD",
      to: "SENT_TO_TEAM",
      note: "还是漏水",
    });
    expect(rounds[1]!.entries.map((e) => e.action)).toEqual(["PROPOSE_PLAN", "CONFIRM_PLAN", "COMMUNICATE_PLAN"]);
  });

  it("says who, when and what", () => {
    const send = timelineOf(steps)[0]!.entries[1]!;
    expect(send).toMatchObject({ action: "SEND_TO_TEAM", actorName: "人2", actorRole: "cs_supervisor", note: "维修班" });
    expect(timestampDate(send.time!).toISOString()).toBe("2026-12-03T01:02:00.000Z");
  });

  it("marks the first communication as the reply of CMP-3", () => {
    const replies = timelineOf(steps)
      .flatMap((r) => r.entries)
      .filter((e) => e.reply)
      .map((e) => e.seq);
    expect(replies).toEqual([5]);
  });

  it("is empty without steps", () => {
    expect(timelineOf([])).toEqual([]);
  });
});

describe("the reply deadline (CMP-3)", () => {
  const now = new Date("2026-12-03T12:00:00Z");
  const ts = (iso: string) => timestampFromDate(new Date(iso));
  const open = ComplaintState.SENT_TO_TEAM;

  it("is overdue once passed without a reply", () => {
    expect(deadlineOf({ replyDueTime: ts("2026-12-03T09:30:00Z"), state: open }, now)).toEqual({
      kind: "overdue",
      hours: 3,
    });
  });

  it("is due soon within a day, pending before", () => {
    expect(deadlineOf({ replyDueTime: ts("2026-12-03T17:30:00Z"), state: open }, now)).toEqual({ kind: "soon", hours: 5 });
    expect(deadlineOf({ replyDueTime: ts("2026-12-05T12:00:00Z"), state: open }, now)).toEqual({ kind: "pending", hours: 48 });
  });

  it("tells a reply on time from a late one", () => {
    const due = ts("2026-12-03T10:00:00Z");
    expect(deadlineOf({ replyDueTime: due, replyTime: ts("2026-12-03T09:00:00Z"), state: open }, now)).toMatchObject({
      kind: "replied",
      late: false,
    });
    expect(deadlineOf({ replyDueTime: due, replyTime: ts("2026-12-03T11:00:00Z"), state: open }, now)).toMatchObject({
      kind: "replied",
      late: true,
    });
  });

  it("reads the property's days per severity", () => {
    const rules = { complaintReplyDaysMinor: 3, complaintReplyDaysGeneral: 2, complaintReplyDaysSerious: 1 };
    expect(replyDays(rules, Severity.MINOR)).toBe(3);
    expect(replyDays(rules, Severity.SERIOUS)).toBe(1);
    expect(replyDays(rules, Severity.UNSPECIFIED)).toBe(0);
  });
});

describe("the list's filters", () => {
  it("are kept in the address, only what is set", () => {
    const filters = {
      ...emptyFilters(),
      state: "REGISTERED",
      unit: "2-2-502",
      deadline: "due" as const,
      hours: 48,
      query: "漏水",
    };
    const query = queryOf(filters);
    expect(query).toEqual({ state: "REGISTERED", unit: "2-2-502", deadline: "due", hours: "48", query: "漏水" });
    expect(filtersFromQuery(query)).toEqual(filters);
    expect(queryOf(emptyFilters())).toEqual({});
  });

  it("drop what the address cannot mean", () => {
    const filters = filtersFromQuery({ state: "OPENED", severity: "UNSPECIFIED", from: "3 Dec", deadline: "soon", hours: "x" });
    expect(filters).toEqual(emptyFilters());
  });

  it("become the ListComplaints request", () => {
    const request = listRequestOf(
      {
        ...emptyFilters(),
        state: "IN_PROGRESS",
        severity: "SERIOUS",
        category: " 维修服务 ",
        building: "2",
        team: "维修班",
        phone: "138 0013 8000",
        query: "#12",
        from: "2026-12-01",
        to: "2026-12-03",
        deadline: "overdue",
      },
      { propertyId: "sunshine-garden", unitId: "u-1", timeZone: "Asia/Shanghai" },
    );
    expect(request).toMatchObject({
      propertyId: "sunshine-garden",
      state: ComplaintState.IN_PROGRESS,
      severity: Severity.SERIOUS,
      category: "维修服务",
      building: "2",
      unitId: "u-1",
      team: "维修班",
      complainantPhone: "138 0013 8000",
      query: "#12",
      overdue: true,
      pageSize: 50,
      pageToken: "",
    });
    expect(request.dueWithinHours).toBeUndefined();
    // Both days included: from midnight of the first to midnight after the last, in the zone.
    expect(timestampDate(request.registeredFrom as never).toISOString()).toBe("2026-11-30T16:00:00.000Z");
    expect(timestampDate(request.registeredTo as never).toISOString()).toBe("2026-12-03T16:00:00.000Z");
  });

  it("ask for complaints due within the hours chosen", () => {
    const request = listRequestOf({ ...emptyFilters(), deadline: "due", hours: 6 }, { propertyId: "p", pageToken: "t" });
    expect(request).toMatchObject({ dueWithinHours: 6, pageToken: "t" });
    expect(request.overdue).toBeUndefined();
    expect(request.state).toBeUndefined();
    expect(request.unitId).toBeUndefined();
  });

  it("count days across a month's end", () => {
    expect(nextDay("2026-12-31")).toBe("2027-01-01");
    expect(nextDay("2028-02-28")).toBe("2028-02-29");
  });
});

describe("the quality department's steps (ESC-3)", () => {
  const officer = role("quality_officer");
  const supervisor = role("cs_supervisor");
  const kindsOf = (state: EscalationState, allowed: (m: string) => boolean) =>
    offeredEscalationSteps(state, allowed).map((s) => s.kind);

  it("offer the property only the answer to a question", () => {
    expect(kindsOf(EscalationState.INFORMATION_REQUESTED, supervisor)).toEqual(["PROVIDE_INFORMATION"]);
    expect(kindsOf(EscalationState.ASSIGNED, supervisor)).toEqual([]);
    expect(kindsOf(EscalationState.INFORMATION_REQUESTED, role("front_desk"))).toEqual([]);
  });

  it("offer the officers theirs", () => {
    expect(kindsOf(EscalationState.RECEIVED, officer)).toEqual(["ASSIGN"]);
    expect(kindsOf(EscalationState.ASSIGNED, officer)).toEqual(["DECIDE", "REQUEST_INFORMATION"]);
    expect(kindsOf(EscalationState.DECIDED, officer)).toEqual(["CLOSE"]);
    expect(kindsOf(EscalationState.CLOSED, officer)).toEqual([]);
  });

  it("read the corrective actions one a line", () => {
    expect(linesOf("整改排水\r\n\n  加强巡查 \n")).toEqual(["整改排水", "加强巡查"]);
  });
});

describe("corrective actions (CMP-8)", () => {
  it("are recorded until verified, and verified once acted", () => {
    const manager = role("project_manager");
    expect(offeredCorrectiveSteps({ state: CorrectiveActionState.OPEN }, manager)).toEqual(["RECORD"]);
    expect(offeredCorrectiveSteps({ state: CorrectiveActionState.ACTED }, manager)).toEqual(["RECORD", "VERIFY"]);
    expect(offeredCorrectiveSteps({ state: CorrectiveActionState.VERIFIED }, manager)).toEqual([]);
    expect(offeredCorrectiveSteps({ state: CorrectiveActionState.ACTED }, role("maintenance_foreman"))).toEqual(["RECORD"]);
  });
});

describe("the words", () => {
  type Tree = { [key: string]: string | Tree };
  const keysOf = (tree: Tree, prefix = ""): string[] =>
    Object.entries(tree).flatMap(([key, value]) =>
      typeof value === "string" ? [`${prefix}${key}`] : keysOf(value, `${prefix}${key}.`),
    );

  it("are there in both languages", async () => {
    const { complaints } = await import("@/i18n/complaints");
    expect(keysOf(complaints.en as Tree)).toEqual(keysOf(complaints["zh-CN"] as Tree));
  });

  it("exist for every key the screens name", async () => {
    const { i18n } = await import("@/i18n");
    const sources = import.meta.glob<string>("../src/views/complaints/*.{vue,ts}", { query: "?raw", import: "default", eager: true });
    const used = new Set<string>();
    for (const text of Object.values(sources)) {
      // complaints.* keys have three parts ("complaints.length" is code).
      for (const [, key] of text.matchAll(/["'`]((?:complaints\.[A-Za-z]+|nav|action|roles|codes)\.[A-Za-z.]+)["'`]/g)) used.add(key!);
    }
    expect(used.size).toBeGreaterThan(50);
    for (const key of used) {
      expect(i18n.global.te(key, "zh-CN"), key).toBe(true);
      expect(i18n.global.te(key, "en"), key).toBe(true);
    }
  });

  it("exist for every step, state and enum the screens show", async () => {
    const { i18n } = await import("@/i18n");
    const { ESCALATION_STEPS } = await import("@/views/complaints/escalation");
    const keys = [
      ...STEPS.flatMap((s) => [`complaints.action.${s.kind}`, `complaints.hint.${s.kind}`]),
      ...Object.keys(StepAction).filter((k) => Number.isNaN(Number(k)) && k !== "UNSPECIFIED").map((k) => `complaints.action.${k}`),
      ...Object.keys(ComplaintState).filter((k) => Number.isNaN(Number(k))).map((k) => `complaints.state.${k}`),
      ...Object.keys(EscalationState).filter((k) => Number.isNaN(Number(k))).map((k) => `complaints.escalation.state.${k}`),
      ...ESCALATION_STEPS.flatMap((s) => [`complaints.escalation.step.${s.kind}`, ...(s.field ? [`complaints.escalation.field.${s.field}`] : [`complaints.escalation.hint.${s.kind}`])]),
    ];
    for (const key of keys) {
      expect(i18n.global.te(key, "zh-CN"), key).toBe(true);
      expect(i18n.global.te(key, "en"), key).toBe(true);
    }
  });
});
