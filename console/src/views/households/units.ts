// Reading a property's units: every page of ListUnits, and a cache of them by id so lists that
// carry only a unit id (the call log, a complaint) show its label.
import { client } from "@/api/clients";
import { HouseholdService, type Unit } from "@/gen/wuye/customerservice/v1/households_pb";
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

/**
 * The unit a label typed at the desk means: "" for none typed, undefined when no unit (or more
 * than one) of the property has it.
 */
export async function unitOfLabel(propertyId: string, text: string): Promise<Unit | "" | undefined> {
  if (!text.trim()) return "";
  return matchUnit(text, await knownUnits(propertyId));
}
