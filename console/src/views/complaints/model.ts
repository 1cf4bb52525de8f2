// The complaint screens' logic without Vue: the steps of CMP-5 and which of them to offer,
// the timeline of a complaint's steps, its reply deadline (CMP-3), and the list's filters as
// they are kept in the address and sent to ListComplaints.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import type { LocationQuery } from "vue-router";
import {
  type Complaint,
  ComplaintState,
  type ComplaintStep,
  type ListComplaintsRequestSchema,
  Severity,
  StepAction,
} from "@/gen/wuye/customerservice/v1/complaints_pb";
import { timestampOf } from "@/time";

export const COMPLAINTS = "wuye.customerservice.v1.ComplaintService";

/** `wuye.customerservice.v1.ComplaintService/<rpc>`, as the gateway policy names it. */
export function complaintMethod(rpc: string): string {
  return `${COMPLAINTS}/${rpc}`;
}

/** The step a post may take, named as the contract's StepAction (the i18n keys too). */
export type StepKind =
  | "SEND_TO_TEAM"
  | "PROPOSE_PLAN"
  | "CONFIRM_PLAN"
  | "REJECT_PLAN"
  | "COMMUNICATE_PLAN"
  | "START_WORK"
  | "URGE_WORK"
  | "REPORT_HANDLING"
  | "TELL_RESULT"
  | "CUSTOMER_SATISFIED"
  | "CUSTOMER_DISSATISFIED"
  | "MARK_MAJOR";

/** A field of a step's form: its request field (snake_case, as violations name it). */
export interface StepField {
  field: "team" | "note" | "plan" | "remedial_measures" | "reason" | "report" | "comment";
  /** i18n key of the label. */
  label: string;
  required: boolean;
  multiline: boolean;
}

export interface StepSpec {
  kind: StepKind;
  /** The RPC. */
  rpc: string;
  /** The states it may be taken from (the service's own table, domain/complaints.rs). */
  from: ComplaintState[];
  fields: StepField[];
  /** Moves the complaint along its main path (the others are side steps). */
  main: boolean;
}

const S = ComplaintState;
const OPEN_STATES = [
  S.REGISTERED,
  S.SENT_TO_TEAM,
  S.PLAN_PROPOSED,
  S.PLAN_CONFIRMED,
  S.COMMUNICATED,
  S.IN_PROGRESS,
  S.REPORTED,
  S.RESULT_TOLD,
];

function f(field: StepField["field"], label: string, required = false, multiline = true): StepField {
  return { field, label, required, multiline };
}

const NOTE = f("note", "complaints.field.note");

/** Every step of CMP-5 the contract has, in the order of the path. */
export const STEPS: StepSpec[] = [
  {
    kind: "SEND_TO_TEAM",
    rpc: "SendToTeam",
    from: [S.REGISTERED],
    fields: [f("team", "complaints.field.team", true, false), NOTE],
    main: true,
  },
  {
    kind: "PROPOSE_PLAN",
    rpc: "ProposePlan",
    from: [S.SENT_TO_TEAM],
    fields: [
      f("plan", "complaints.field.plan", true),
      f("remedial_measures", "complaints.field.remedialMeasures", true),
    ],
    main: true,
  },
  { kind: "CONFIRM_PLAN", rpc: "ConfirmPlan", from: [S.PLAN_PROPOSED], fields: [NOTE], main: true },
  {
    kind: "REJECT_PLAN",
    rpc: "RejectPlan",
    from: [S.PLAN_PROPOSED],
    fields: [f("reason", "complaints.field.reason", true)],
    main: false,
  },
  { kind: "COMMUNICATE_PLAN", rpc: "CommunicatePlan", from: [S.PLAN_CONFIRMED], fields: [NOTE], main: true },
  { kind: "START_WORK", rpc: "StartWork", from: [S.COMMUNICATED], fields: [NOTE], main: true },
  { kind: "URGE_WORK", rpc: "UrgeWork", from: [S.IN_PROGRESS], fields: [NOTE], main: false },
  {
    kind: "REPORT_HANDLING",
    rpc: "ReportHandling",
    from: [S.IN_PROGRESS],
    fields: [f("report", "complaints.field.report", true)],
    main: true,
  },
  { kind: "TELL_RESULT", rpc: "TellResult", from: [S.REPORTED], fields: [NOTE], main: true },
  {
    kind: "CUSTOMER_SATISFIED",
    rpc: "RecordCustomerVerdict",
    from: [S.RESULT_TOLD],
    fields: [f("comment", "complaints.field.comment")],
    main: true,
  },
  {
    kind: "CUSTOMER_DISSATISFIED",
    rpc: "RecordCustomerVerdict",
    from: [S.RESULT_TOLD],
    fields: [f("comment", "complaints.field.comment", true)],
    main: false,
  },
  {
    kind: "MARK_MAJOR",
    rpc: "MarkMajor",
    from: OPEN_STATES,
    fields: [f("reason", "complaints.field.majorReason", true)],
    main: false,
  },
];

export function stepSpec(kind: StepKind): StepSpec {
  const spec = STEPS.find((s) => s.kind === kind);
  if (!spec) throw new Error(`no step ${kind}`);
  return spec;
}

/**
 * The steps to offer on `complaint` to a post that may call what `allowed` says: those its
 * state allows, main steps first. The service still judges each one.
 */
export function offeredSteps(
  complaint: Pick<Complaint, "state" | "major">,
  allowed: (method: string) => boolean,
): StepSpec[] {
  const offered = STEPS.filter(
    (s) =>
      s.from.includes(complaint.state) &&
      allowed(complaintMethod(s.rpc)) &&
      !(s.kind === "MARK_MAJOR" && complaint.major),
  );
  return [...offered.filter((s) => s.main), ...offered.filter((s) => !s.main)];
}

/** Refusals after which the page shows the complaint as it is now (someone else acted). */
export function isStale(reason: string): boolean {
  return reason === "STEP_OUT_OF_ORDER" || reason === "COMPLAINT_CLOSED" || reason === "ALREADY_MAJOR";
}

// --- The timeline -------------------------------------------------------------------------

export interface TimelineEntry {
  seq: number;
  /** StepAction's name ("SEND_TO_TEAM"). */
  action: string;
  actorName: string;
  actorRole: string;
  time: Timestamp | undefined;
  note: string;
  /** ComplaintState names; equal when the step changed no state (urging, marking major). */
  from: string;
  to: string;
  /** The first communication of the plan: the reply CMP-3 measures. */
  reply: boolean;
}

export interface Round {
  /** 1 for the first handling; each dissatisfied verdict starts another. */
  n: number;
  entries: TimelineEntry[];
}

/** The steps in order, in rounds of handling ("直到客户满意为止"). */
export function timelineOf(steps: ComplaintStep[]): Round[] {
  const rounds: Round[] = [{ n: 1, entries: [] }];
  let replied = false;
  for (const step of [...steps].sort((a, b) => a.seq - b.seq)) {
    const reply = step.action === StepAction.COMMUNICATE_PLAN && !replied;
    if (reply) replied = true;
    rounds[rounds.length - 1]!.entries.push({
      seq: step.seq,
      action: StepAction[step.action] ?? "UNSPECIFIED",
      actorName: step.actor?.name ?? "",
      actorRole: step.actor?.role ?? "",
      time: step.time,
      note: step.note,
      from: ComplaintState[step.fromState] ?? "UNSPECIFIED",
      to: ComplaintState[step.toState] ?? "UNSPECIFIED",
      reply,
    });
    if (step.action === StepAction.CUSTOMER_DISSATISFIED) {
      rounds.push({ n: rounds.length + 1, entries: [] });
    }
  }
  return rounds.filter((r) => r.entries.length > 0);
}

// --- The reply deadline (CMP-3) -------------------------------------------------------------

export type Deadline =
  | { kind: "replied"; late: boolean; at: Timestamp }
  | { kind: "overdue"; hours: number }
  | { kind: "soon"; hours: number }
  | { kind: "pending"; hours: number }
  | { kind: "none" };

/** Where the complaint stands against its reply deadline; "soon" within `soonHours`. */
export function deadlineOf(
  c: Pick<Complaint, "replyDueTime" | "replyTime" | "state">,
  now = new Date(),
  soonHours = 24,
): Deadline {
  const due = c.replyDueTime;
  if (c.replyTime) {
    const late = !!due && timestampDate(c.replyTime).getTime() > timestampDate(due).getTime();
    return { kind: "replied", late, at: c.replyTime };
  }
  if (!due || c.state === ComplaintState.CLOSED) return { kind: "none" };
  const hours = (timestampDate(due).getTime() - now.getTime()) / 3_600_000;
  if (hours < 0) return { kind: "overdue", hours: Math.ceil(-hours) };
  if (hours <= soonHours) return { kind: "soon", hours: Math.max(1, Math.floor(hours)) };
  return { kind: "pending", hours: Math.floor(hours) };
}

/** The property's reply days for a severity (GetProperty's rules). */
export function replyDays(
  rules: {
    complaintReplyDaysMinor: number;
    complaintReplyDaysGeneral: number;
    complaintReplyDaysSerious: number;
  },
  severity: Severity,
): number {
  switch (severity) {
    case Severity.MINOR:
      return rules.complaintReplyDaysMinor;
    case Severity.GENERAL:
      return rules.complaintReplyDaysGeneral;
    case Severity.SERIOUS:
      return rules.complaintReplyDaysSerious;
    default:
      return 0;
  }
}

// --- The list's filters ---------------------------------------------------------------------

export interface Filters {
  /** ComplaintState name ("REGISTERED") or "". */
  state: string;
  /** Severity name ("SERIOUS") or "". */
  severity: string;
  category: string;
  building: string;
  /** The unit's label as typed ("2-2-502"); found with FindUnit. */
  unit: string;
  team: string;
  /** "YYYY-MM-DD", in the property's zone; both days included. */
  from: string;
  to: string;
  /** "overdue", "due" (within `hours`) or "". */
  deadline: "" | "overdue" | "due";
  hours: number;
  query: string;
  phone: string;
}

export const DEFAULT_HOURS = 24;

export function emptyFilters(): Filters {
  return {
    state: "",
    severity: "",
    category: "",
    building: "",
    unit: "",
    team: "",
    from: "",
    to: "",
    deadline: "",
    hours: DEFAULT_HOURS,
    query: "",
    phone: "",
  };
}

const TEXT_KEYS = ["state", "severity", "category", "building", "unit", "team", "from", "to", "query", "phone"] as const;

function first(value: LocationQuery[string] | undefined): string {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === "string" ? v : "";
}

/** The filters of the list's address (`?state=REGISTERED&deadline=due&hours=48`). */
export function filtersFromQuery(query: LocationQuery): Filters {
  const filters = emptyFilters();
  for (const key of TEXT_KEYS) filters[key] = first(query[key]).trim();
  if (!(filters.state in ComplaintState) || filters.state === "UNSPECIFIED") filters.state = "";
  if (!(filters.severity in Severity) || filters.severity === "UNSPECIFIED") filters.severity = "";
  const day = /^\d{4}-\d{2}-\d{2}$/;
  if (!day.test(filters.from)) filters.from = "";
  if (!day.test(filters.to)) filters.to = "";
  const deadline = first(query.deadline);
  filters.deadline = deadline === "overdue" || deadline === "due" ? deadline : "";
  const hours = Number.parseInt(first(query.hours), 10);
  filters.hours = Number.isFinite(hours) && hours > 0 ? hours : DEFAULT_HOURS;
  return filters;
}

/** The filters as the address keeps them: only what is set. */
export function queryOf(filters: Filters): Record<string, string> {
  const query: Record<string, string> = {};
  for (const key of TEXT_KEYS) {
    const value = filters[key].trim();
    if (value) query[key] = value;
  }
  if (filters.deadline) query.deadline = filters.deadline;
  if (filters.deadline === "due" && filters.hours !== DEFAULT_HOURS) query.hours = String(filters.hours);
  return query;
}

/** Whether any filter beyond the first row (state, severity, search) is set. */
export function hasMoreFilters(filters: Filters): boolean {
  return !!(
    filters.category ||
    filters.building ||
    filters.unit ||
    filters.team ||
    filters.from ||
    filters.to ||
    filters.phone
  );
}

/** "2026-12-03" → "2026-12-04". */
export function nextDay(day: string): string {
  const [y, m, d] = day.split("-").map(Number);
  const next = new Date(Date.UTC(y!, m! - 1, d! + 1));
  return next.toISOString().slice(0, 10);
}

export type ListRequest = MessageInitShape<typeof ListComplaintsRequestSchema>;

/**
 * The ListComplaints request of `filters`: the unit found by its label (`unitId`), the days
 * as a half-open range of instants in the property's zone (`to` included: up to the next
 * midnight).
 */
export function listRequestOf(
  filters: Filters,
  page: { propertyId: string; unitId?: string; pageToken?: string; pageSize?: number; timeZone?: string },
): ListRequest {
  const request: ListRequest = {
    propertyId: page.propertyId,
    pageSize: page.pageSize ?? 50,
    pageToken: page.pageToken ?? "",
  };
  if (filters.state) request.state = ComplaintState[filters.state as keyof typeof ComplaintState];
  if (filters.severity) request.severity = Severity[filters.severity as keyof typeof Severity];
  if (filters.category.trim()) request.category = filters.category.trim();
  if (filters.building.trim()) request.building = filters.building.trim();
  if (page.unitId) request.unitId = page.unitId;
  if (filters.team.trim()) request.team = filters.team.trim();
  if (filters.phone.trim()) request.complainantPhone = filters.phone.trim();
  if (filters.query.trim()) request.query = filters.query.trim();
  if (filters.from) request.registeredFrom = timestampOf(filters.from, page.timeZone);
  if (filters.to) request.registeredTo = timestampOf(nextDay(filters.to), page.timeZone);
  if (filters.deadline === "overdue") request.overdue = true;
  if (filters.deadline === "due") request.dueWithinHours = filters.hours;
  return request;
}

// --- Words the property uses ----------------------------------------------------------------

/** Suggested teams (班组) and categories: the property's own words, whatever the language. */
export const TEAMS = ["维修班", "工程维修班", "保洁班", "绿化班", "秩序维护班", "客户服务部"];
export const CATEGORIES = ["供电", "供水", "消防治安", "卫生", "绿化", "公共设施", "维修服务", "服务态度", "噪音", "停车"];

/** The states a list filter offers, in the order of the path. */
export const STATE_NAMES = [
  "REGISTERED",
  "SENT_TO_TEAM",
  "PLAN_PROPOSED",
  "PLAN_CONFIRMED",
  "COMMUNICATED",
  "IN_PROGRESS",
  "REPORTED",
  "RESULT_TOLD",
  "CLOSED",
] as const;

export const SEVERITY_NAMES = ["MINOR", "GENERAL", "SERIOUS"] as const;
