// Corrective and preventive actions (纠正预防措施实施验证报告, CMP-8): opened on a complaint,
// acted on by the responsible team, verified by someone who did not act.
import { client } from "@/api/clients";
import {
  type CorrectiveAction,
  CorrectiveActionState,
  ComplaintService,
} from "@/gen/wuye/customerservice/v1/complaints_pb";
import { complaintMethod } from "./model";

export type CorrectiveStepKind = "OPEN" | "RECORD" | "VERIFY";

/** The steps the post may take on `action` (OPEN is offered on the complaint, not here). */
export function offeredCorrectiveSteps(
  action: Pick<CorrectiveAction, "state">,
  allowed: (method: string) => boolean,
): CorrectiveStepKind[] {
  const steps: CorrectiveStepKind[] = [];
  if (action.state !== CorrectiveActionState.VERIFIED && allowed(complaintMethod("RecordCorrectiveMeasures"))) {
    steps.push("RECORD");
  }
  if (action.state === CorrectiveActionState.ACTED && allowed(complaintMethod("VerifyCorrectiveAction"))) {
    steps.push("VERIFY");
  }
  return steps;
}

/** A page of the property's corrective actions, or every one of a complaint. */
export async function listCorrectiveActions(
  propertyId: string,
  options: { openOnly?: boolean; complaintId?: string; pageToken?: string; pageSize?: number },
): Promise<{ actions: CorrectiveAction[]; nextPageToken: string }> {
  const service = client(ComplaintService);
  // ListCorrectiveActions has no complaint filter: a complaint's actions are picked out of
  // the property's, page by page (a property has few).
  if (!options.complaintId) {
    const answer = await service.listCorrectiveActions({
      propertyId,
      openOnly: options.openOnly ?? false,
      pageSize: options.pageSize ?? 50,
      pageToken: options.pageToken ?? "",
    });
    return { actions: answer.actions, nextPageToken: answer.nextPageToken };
  }
  const actions: CorrectiveAction[] = [];
  let token = "";
  for (let page = 0; page < 20; page++) {
    const answer = await service.listCorrectiveActions({ propertyId, openOnly: false, pageSize: 500, pageToken: token });
    actions.push(...answer.actions.filter((a) => a.complaintId === options.complaintId));
    token = answer.nextPageToken;
    if (!token) break;
  }
  return { actions, nextPageToken: "" };
}

export async function takeCorrectiveStep(
  kind: CorrectiveStepKind,
  target: { propertyId: string; complaintId: string; actionId: string; requestId: string },
  values: { problem: string; measures: string; effective: boolean; verification: string },
): Promise<CorrectiveAction | undefined> {
  const c = client(ComplaintService);
  const { propertyId, actionId } = target;
  switch (kind) {
    case "OPEN":
      return (
        await c.openCorrectiveAction({
          propertyId,
          requestId: target.requestId,
          complaintId: target.complaintId,
          problem: values.problem.trim(),
        })
      ).action;
    case "RECORD":
      return (await c.recordCorrectiveMeasures({ propertyId, actionId, measures: values.measures.trim() })).action;
    case "VERIFY":
      return (
        await c.verifyCorrectiveAction({
          propertyId,
          actionId,
          effective: values.effective,
          verification: values.verification.trim(),
        })
      ).action;
  }
}
