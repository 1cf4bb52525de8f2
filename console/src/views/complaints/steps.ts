// Taking a step of CMP-5: the step's RPC with what its form says. The answer is the complaint
// after the step.
import { client } from "@/api/clients";
import { type Complaint, ComplaintService } from "@/gen/wuye/customerservice/v1/complaints_pb";
import type { StepKind } from "./model";

export type StepValues = Partial<Record<"team" | "note" | "plan" | "remedial_measures" | "reason" | "report" | "comment", string>>;

export async function takeStep(
  kind: StepKind,
  target: { propertyId: string; complaintId: string },
  values: StepValues,
): Promise<Complaint | undefined> {
  const c = client(ComplaintService);
  const v = (name: keyof StepValues) => (values[name] ?? "").trim();
  const note = v("note");
  switch (kind) {
    case "SEND_TO_TEAM":
      return (await c.sendToTeam({ ...target, team: v("team"), note })).complaint;
    case "PROPOSE_PLAN":
      return (await c.proposePlan({ ...target, plan: v("plan"), remedialMeasures: v("remedial_measures") })).complaint;
    case "CONFIRM_PLAN":
      return (await c.confirmPlan({ ...target, note })).complaint;
    case "REJECT_PLAN":
      return (await c.rejectPlan({ ...target, reason: v("reason") })).complaint;
    case "COMMUNICATE_PLAN":
      return (await c.communicatePlan({ ...target, note })).complaint;
    case "START_WORK":
      return (await c.startWork({ ...target, note })).complaint;
    case "URGE_WORK":
      return (await c.urgeWork({ ...target, note })).complaint;
    case "REPORT_HANDLING":
      return (await c.reportHandling({ ...target, report: v("report") })).complaint;
    case "TELL_RESULT":
      return (await c.tellResult({ ...target, note })).complaint;
    case "CUSTOMER_SATISFIED":
      return (await c.recordCustomerVerdict({ ...target, satisfied: true, comment: v("comment") })).complaint;
    case "CUSTOMER_DISSATISFIED":
      return (await c.recordCustomerVerdict({ ...target, satisfied: false, comment: v("comment") })).complaint;
    case "MARK_MAJOR":
      return (await c.markMajor({ ...target, reason: v("reason") })).complaint;
  }
}
