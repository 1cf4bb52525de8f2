// The households screens' logic, apart from the screens so it is unit-tested: units grouped
// the way a building stands (building → entrance → floor), the move-in form as the request the
// contract takes, unit labels as the desk types them.
import { create } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import {
  type RecordMoveInRequest,
  RecordMoveInRequestSchema,
  ResidentRelation,
  ResidentSchema,
  type Unit,
  UnitState,
} from "@/gen/wuye/customerservice/v1/households_pb";

/** Text compared as people count: "2" before "10", "2-502" before "2-1001". */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, "zh-CN", { numeric: true, sensitivity: "base" });
}

export interface FloorRow {
  floor: number;
  units: Unit[];
}

export interface EntranceGroup {
  /** "" when the building has one entrance. */
  entrance: string;
  /** Top floor first, as the building is drawn. */
  floors: FloorRow[];
  counts: StateCounts;
}

export interface BuildingGroup {
  building: string;
  entrances: EntranceGroup[];
  counts: StateCounts;
}

// A type, not an interface: passed as i18n's named values.
export type StateCounts = {
  total: number;
  unsold: number;
  vacant: number;
  occupied: number;
};

function emptyCounts(): StateCounts {
  return { total: 0, unsold: 0, vacant: 0, occupied: 0 };
}

function count(counts: StateCounts, unit: Unit): void {
  counts.total += 1;
  if (unit.state === UnitState.UNSOLD) counts.unsold += 1;
  else if (unit.state === UnitState.VACANT) counts.vacant += 1;
  else if (unit.state === UnitState.OCCUPIED) counts.occupied += 1;
}

/**
 * Units by building and entrance, floors top down, rooms in order; buildings and entrances in
 * natural order (the service orders them as text: "10" before "2").
 */
export function groupUnits(units: readonly Unit[]): BuildingGroup[] {
  const buildings = new Map<string, Map<string, Unit[]>>();
  for (const unit of units) {
    let entrances = buildings.get(unit.building);
    if (!entrances) buildings.set(unit.building, (entrances = new Map()));
    let list = entrances.get(unit.entrance);
    if (!list) entrances.set(unit.entrance, (list = []));
    list.push(unit);
  }
  return [...buildings.entries()]
    .sort(([a], [b]) => naturalCompare(a, b))
    .map(([building, entrances]) => {
      const counts = emptyCounts();
      const groups = [...entrances.entries()]
        .sort(([a], [b]) => naturalCompare(a, b))
        .map(([entrance, list]) => {
          const entranceCounts = emptyCounts();
          const floors = new Map<number, Unit[]>();
          for (const unit of list) {
            count(entranceCounts, unit);
            count(counts, unit);
            const row = floors.get(unit.floor) ?? [];
            row.push(unit);
            floors.set(unit.floor, row);
          }
          return {
            entrance,
            counts: entranceCounts,
            floors: [...floors.entries()]
              .sort(([a], [b]) => b - a)
              .map(([floor, row]) => ({ floor, units: row.sort((x, y) => naturalCompare(x.room, y.room)) })),
          };
        });
      return { building, entrances: groups, counts };
    });
}

/** The buildings of `units`, in natural order. */
export function buildingsOf(units: readonly Unit[]): string[] {
  return [...new Set(units.map((u) => u.building))].sort(naturalCompare);
}

/** Units in `state` (all when UNSPECIFIED). */
export function unitsInState(units: readonly Unit[], state: UnitState): Unit[] {
  return state === UnitState.UNSPECIFIED ? [...units] : units.filter((u) => u.state === state);
}

/** Whether a household may move into the unit (RecordMoveIn refuses an occupied one). */
export function canMoveInto(unit: Unit): boolean {
  return unit.state === UnitState.UNSOLD || unit.state === UnitState.VACANT;
}

/** A unit label as the desk types it, made comparable: "２栋 1单元 502" → "2-1-502". */
export function normalizeLabel(text: string): string {
  return text
    .normalize("NFKC")
    .replace(/\s+/g, "")
    .replace(/[—–－‐_/]/g, "-")
    .replace(/(栋|幢|号楼|座)/g, "-")
    .replace(/单元/g, "-")
    .replace(/(室|号)$/g, "")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "")
    .toUpperCase();
}

/**
 * The unit a typed label means among `units`: its exact label, or building-room when the
 * building has one entrance with that room. Undefined when none or more than one match.
 */
export function matchUnit(text: string, units: readonly Unit[]): Unit | undefined {
  const wanted = normalizeLabel(text);
  if (!wanted) return undefined;
  const exact = units.filter((u) => normalizeLabel(u.label) === wanted);
  if (exact.length === 1) return exact[0];
  const parts = wanted.split("-");
  if (parts.length !== 2) return undefined;
  const [building, room] = parts;
  const loose = units.filter(
    (u) => normalizeLabel(u.building) === building && normalizeLabel(u.room) === room,
  );
  return loose.length === 1 ? loose[0] : undefined;
}

/** A phone the gateway masked for this post (138****8000): shown, never sent back. */
export function isMasked(phone: string): boolean {
  return phone.includes("*");
}

/** One resident as typed on the move-in form. */
export interface ResidentRow {
  name: string;
  relation: ResidentRelation;
  phone: string;
}

export interface MoveInForm {
  residents: ResidentRow[];
  /** Index of the primary contact among the residents. */
  primary: number;
  /** When they moved in; undefined: now. */
  moveInTime: Timestamp | undefined;
}

export function emptyResident(relation = ResidentRelation.FAMILY): ResidentRow {
  return { name: "", relation, phone: "" };
}

export function newMoveInForm(): MoveInForm {
  return { residents: [emptyResident(ResidentRelation.OWNER)], primary: 0, moveInTime: undefined };
}

/**
 * The RecordMoveIn request of the form. Rows left wholly empty are dropped (a spare line is
 * not a resident); the primary contact stays on the row that was chosen. Field violations the
 * service reports (`residents[i].name`) index the rows sent: see `rowOfSent`.
 */
export function moveInRequest(
  propertyId: string,
  requestId: string,
  unitId: string,
  form: MoveInForm,
): RecordMoveInRequest {
  const sent = sentRows(form);
  return create(RecordMoveInRequestSchema, {
    propertyId,
    requestId,
    unitId,
    moveInTime: form.moveInTime,
    residents: sent.map((i) => {
      const r = form.residents[i]!;
      return create(ResidentSchema, {
        name: r.name.trim(),
        relation: r.relation,
        phone: r.phone.trim(),
        primaryContact: i === form.primary,
      });
    }),
  });
}

function isBlank(r: ResidentRow): boolean {
  return !r.name.trim() && !r.phone.trim();
}

/** The indices of the form's rows that the request carries, in order. */
export function sentRows(form: MoveInForm): number[] {
  const rows = form.residents.map((_, i) => i).filter((i) => !isBlank(form.residents[i]!));
  // All blank: send the first, so the service names what is missing on it.
  return rows.length > 0 ? rows : form.residents.length > 0 ? [0] : [];
}

/**
 * The service's field violations renamed to the form's rows: `residents[1].name` of the
 * request is the row it came from.
 */
export function errorsOnRows(form: MoveInForm, errors: Record<string, string>): Record<string, string> {
  const sent = sentRows(form);
  const out: Record<string, string> = {};
  for (const [field, message] of Object.entries(errors)) {
    const m = /^residents\[(\d+)\](.*)$/.exec(field);
    const row = m ? sent[Number(m[1])] : undefined;
    out[m && row !== undefined ? `residents[${row}]${m[2]}` : field] = message;
  }
  return out;
}

/** Removes a row, keeping the primary contact on the same person (or the first row). */
export function removeResident(form: MoveInForm, index: number): void {
  if (form.residents.length <= 1) return;
  form.residents.splice(index, 1);
  if (form.primary === index) form.primary = 0;
  else if (form.primary > index) form.primary -= 1;
}

/** The log entry number typed ("12", "第12号", "#12"), or null. */
export function entryNumberOf(text: string): bigint | null {
  const m = /^\s*(?:第|#|no\.?)?\s*(\d{1,18})\s*号?\s*$/i.exec(text.normalize("NFKC"));
  if (!m) return null;
  const n = BigInt(m[1]!);
  return n > 0n ? n : null;
}
