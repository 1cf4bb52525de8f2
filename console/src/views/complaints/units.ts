// Units as the desk says them: found by their label ("2-2-502", FindUnit), and shown by their
// label where a record holds only the unit's id (GetUnit, remembered for the tab's life).
import { Code } from "@connectrpc/connect";
import { reactive } from "vue";
import { client } from "@/api/clients";
import { type Problem, problemOf } from "@/api/errors";
import { explain, fieldWords } from "@/api/explain";
import { HouseholdService, type Unit } from "@/gen/wuye/customerservice/v1/households_pb";
import { i18n } from "@/i18n";
import { can } from "@/session/session";

const labels = reactive(new Map<string, string>());
const asked = new Set<string>();

function key(propertyId: string, unitId: string): string {
  return `${propertyId}/${unitId}`;
}

/** The label of a unit, once known ("" until then; `want` asks for it). */
export function unitLabel(propertyId: string, unitId: string): string {
  return labels.get(key(propertyId, unitId)) ?? "";
}

/** Reads the labels of `unitIds` not known yet; failures leave the id shown. */
export async function wantLabels(propertyId: string, unitIds: string[]): Promise<void> {
  if (!can("wuye.customerservice.v1.HouseholdService/GetUnit")) return;
  const missing = [...new Set(unitIds.filter((id) => id && !asked.has(key(propertyId, id))))];
  missing.forEach((id) => asked.add(key(propertyId, id)));
  await Promise.all(
    missing.map(async (unitId) => {
      try {
        const answer = await client(HouseholdService).getUnit({ propertyId, unitId });
        if (answer.unit) labels.set(key(propertyId, unitId), answer.unit.label);
      } catch {
        asked.delete(key(propertyId, unitId));
      }
    }),
  );
}

export type Found = { unit: Unit } | { missing: true } | { problem: Problem };

/** The unit of `label`: found, not in the property (NOT_FOUND), or refused (a bad label). */
export async function findUnit(propertyId: string, label: string): Promise<Found> {
  try {
    const answer = await client(HouseholdService).findUnit({ propertyId, label: label.trim() });
    if (!answer.unit) return { missing: true };
    labels.set(key(propertyId, answer.unit.id), answer.unit.label);
    return { unit: answer.unit };
  } catch (error) {
    const problem = problemOf(error);
    if (problem.code === Code.NotFound) return { missing: true };
    return { problem };
  }
}

/** Why FindUnit could not read a label, in the console's language. */
export function labelTrouble(found: Exclude<Found, { unit: Unit }>): string {
  const t = i18n.global.t;
  if ("missing" in found) return t("complaints.unitWords.missing");
  const description = found.problem.fields.label;
  if (!description) return explain(found.problem);
  if (description.startsWith("is not a unit label")) return t("complaints.unitWords.unreadable");
  const several = /^names units of several entrances \((.*)\)/.exec(description);
  if (several) return t("complaints.unitWords.several", { labels: several[1] });
  return fieldWords(description);
}
