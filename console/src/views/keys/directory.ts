// What the key desk picks from: the property's units (for an entrustment) and its staff
// (the borrowers, KEY-6), each read once per property and screen visit.
import { client } from "@/api/clients";
import { load } from "@/forms";
import { DirectoryService } from "@/gen/wuye/directory/v1/directory_pb";
import { HouseholdService, type Unit } from "@/gen/wuye/customerservice/v1/households_pb";
import { can } from "@/session/session";

/** Pages are read until the last one, up to this many (a property of 10 000 units). */
const MAX_PAGES = 20;

export async function allUnits(propertyId: string): Promise<Unit[]> {
  const units: Unit[] = [];
  let pageToken = "";
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await load(() =>
      client(HouseholdService).listUnits({ propertyId, pageSize: 500, pageToken }),
    );
    if (!answer) break;
    units.push(...answer.units);
    pageToken = answer.nextPageToken;
    if (!pageToken) break;
  }
  return units;
}

export interface StaffMember {
  personId: string;
  name: string;
  staffNumber: string;
  /** As the directory answers it: masked unless the post may see phones in full. */
  phone: string;
  /** Their current roles at the property. */
  roles: string[];
}

export const LIST_STAFF = "wuye.directory.v1.DirectoryService/ListStaff";

/** The people with a current post at the property; none when the post may not list them. */
export async function propertyStaff(propertyId: string): Promise<StaffMember[]> {
  if (!can(LIST_STAFF)) return [];
  const people: StaffMember[] = [];
  let pageToken = "";
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await load(() =>
      client(DirectoryService).listStaff({ propertyId, pageSize: 500, pageToken }),
    );
    if (!answer) break;
    for (const p of answer.people) {
      people.push({
        personId: p.personId,
        name: p.name,
        staffNumber: p.staffNumber,
        phone: p.phone,
        roles: p.posts.filter((post) => !post.endTime).map((post) => post.role),
      });
    }
    pageToken = answer.nextPageToken;
    if (!pageToken) break;
  }
  return people;
}
