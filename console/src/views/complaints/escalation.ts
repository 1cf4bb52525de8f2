// The quality department's handling of an escalated complaint (ESC-3), as the complaint's page
// shows it: which of the department's steps to offer (the property answers questions; the
// department's officers assign, ask, decide and close), and taking them.
import { client } from "@/api/clients";
import {
  type Escalation,
  EscalationService,
  EscalationState,
} from "@/gen/wuye/quality/v1/escalations_pb";

export const ESCALATIONS = "wuye.quality.v1.EscalationService";

export type EscalationStepKind = "ASSIGN" | "REQUEST_INFORMATION" | "PROVIDE_INFORMATION" | "DECIDE" | "CLOSE";

export interface EscalationStepSpec {
  kind: EscalationStepKind;
  rpc: string;
  from: EscalationState[];
  /** The request's text field, when the step has one ("" for none). */
  field: "" | "question" | "answer" | "decision" | "note";
  required: boolean;
  /** DECIDE also takes the corrective actions, one a line. */
  actions: boolean;
}

const E = EscalationState;

export const ESCALATION_STEPS: EscalationStepSpec[] = [
  { kind: "PROVIDE_INFORMATION", rpc: "ProvideInformation", from: [E.INFORMATION_REQUESTED], field: "answer", required: true, actions: false },
  { kind: "ASSIGN", rpc: "AssignEscalation", from: [E.RECEIVED], field: "", required: false, actions: false },
  { kind: "DECIDE", rpc: "DecideEscalation", from: [E.ASSIGNED], field: "decision", required: true, actions: true },
  { kind: "REQUEST_INFORMATION", rpc: "RequestInformation", from: [E.ASSIGNED], field: "question", required: true, actions: false },
  { kind: "CLOSE", rpc: "CloseEscalation", from: [E.DECIDED], field: "note", required: false, actions: false },
];

export function escalationStep(kind: EscalationStepKind): EscalationStepSpec {
  const spec = ESCALATION_STEPS.find((s) => s.kind === kind);
  if (!spec) throw new Error(`no escalation step ${kind}`);
  return spec;
}

/** The department's steps the post may take on an escalation in `state`. */
export function offeredEscalationSteps(
  state: EscalationState,
  allowed: (method: string) => boolean,
): EscalationStepSpec[] {
  return ESCALATION_STEPS.filter((s) => s.from.includes(state) && allowed(`${ESCALATIONS}/${s.rpc}`));
}

/** The corrective actions typed one a line: blank lines dropped. */
export function linesOf(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

export async function takeEscalationStep(
  kind: EscalationStepKind,
  target: { propertyId: string; escalationId: string },
  text: string,
  actions: string,
): Promise<Escalation | undefined> {
  const c = client(EscalationService);
  const value = text.trim();
  switch (kind) {
    case "ASSIGN":
      return (await c.assignEscalation({ ...target, assigneeUserId: "" })).escalation;
    case "REQUEST_INFORMATION":
      return (await c.requestInformation({ ...target, question: value })).escalation;
    case "PROVIDE_INFORMATION":
      return (await c.provideInformation({ ...target, answer: value })).escalation;
    case "DECIDE":
      return (await c.decideEscalation({ ...target, decision: value, correctiveActions: linesOf(actions) })).escalation;
    case "CLOSE":
      return (await c.closeEscalation({ ...target, note: value })).escalation;
  }
}

/** Refusals after which the panel shows the escalation as it is now. */
export function isStaleEscalation(reason: string): boolean {
  return reason === "STEP_OUT_OF_ORDER";
}
