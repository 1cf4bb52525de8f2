// Reading a property's units: every page of ListUnits, and a cache of them by id so lists that
// carry only a unit id (the call log, a complaint) show its label.
import { Code } from "@connectrpc/connect";
import { client } from "@/api/clients";
import { problemOf } from "@/api/errors";
import { explain, fieldWords } from "@/api/explain";
import { HouseholdService, type Unit } from "@/gen/wuye/customerservice/v1/households_pb";
import { t } from "@/i18n";
import { can } from "@/session/session";
import { matchUnit } from "./model";

/** Pages read at most in one go (500 units each): a property larger than this pages on. */
const MAX_PAGES = 20;

/** Every unit of the property (or of one building), in the service's order. */
export async function allUnits(propertyId: string, building = ""): Promise<{ units: Unit[]; more: boolean }> {
  const units: Unit[] = [];
  let pageToken = "";
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await client(HouseholdService).listUnits({ propertyId, building, pageSize: 500, pageToken });
    units.push(...answer.units);
    pageToken = answer.nextPageToken;
    if (!pageToken) return { units, more: false };
  }
  return { units, more: true };
}

const cached = new Map<string, Promise<Unit[]>>();

/** The property's units, read once per property and session of the page (labels do not change). */
export function knownUnits(propertyId: string): Promise<Unit[]> {
  let units = cached.get(propertyId);
  if (!units) {
    units = allUnits(propertyId).then((a) => a.units);
    // A failed read is not kept: the next screen asks again.
    units.catch(() => cached.delete(propertyId));
    cached.set(propertyId, units);
  }
  return units;
}

/** Unit id → label. */
export function labelsOf(units: readonly Unit[]): Map<string, string> {
  return new Map(units.map((u) => [u.id, u.label]));
}

/** The unit a typed label resolves to: its id ("" for none typed), or why there is none. */
export type UnitChoice = { unitId: string } | { error: string };

/**
 * The unit a label typed at the desk means: the one unit of the property whose label reads
 * the same, else the service's reading of it (FindUnit), which knows forms we do not.
 */
export async function unitOfLabel(propertyId: string, text: string): Promise<UnitChoice> {
  if (!text.trim()) return { unitId: "" };
  const unknown = { error: t("households.log.unitUnknown") };
  const known = await knownUnits(propertyId).catch(() => []);
  const local = matchUnit(text, known);
  if (local) return { unitId: local.id };
  if (!can("wuye.customerservice.v1.HouseholdService/FindUnit")) return unknown;
  try {
    const answer = await client(HouseholdService).findUnit({ propertyId, label: text.trim() });
    return answer.unit ? { unitId: answer.unit.id } : unknown;
  } catch (error) {
    const problem = problemOf(error);
    if (problem.fields.label) return { error: fieldWords(problem.fields.label) };
    if (problem.code === Code.NotFound || problem.code === Code.Unimplemented) return unknown;
    return { error: explain(problem) };
  }
}
