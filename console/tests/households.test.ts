import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  Channel,
  ComplainantSchema,
  ContactEntrySchema,
  ContactKind,
} from "@/gen/wuye/customerservice/v1/complaints_pb";
import { HouseholdState, ResidentRelation, UnitSchema, UnitState } from "@/gen/wuye/customerservice/v1/households_pb";
import { households } from "@/i18n/households";
import {
  buildingsOf,
  canMoveInto,
  emptyResident,
  entryNumberOf,
  errorsOnRows,
  groupUnits,
  isMasked,
  matchUnit,
  moveInRequest,
  newMoveInForm,
  normalizeLabel,
  removeResident,
  unitsInState,
} from "@/views/households/model";
import {
  canBecomeComplaint,
  logContactRequest,
  newLogForm,
} from "@/views/households/contact-log/model";

function unit(building: string, entrance: string, floor: number, room: string, state = UnitState.VACANT) {
  const label = entrance ? `${building}-${entrance}-${room}` : `${building}-${room}`;
  return create(UnitSchema, { id: `u-${label}`, building, entrance, floor, room, state, label });
}

describe("units by building", () => {
  // In the service's order: as text, so "10" comes before "2".
  const units = [
    unit("1", "1", 1, "101", UnitState.OCCUPIED),
    unit("1", "1", 1, "102"),
    unit("1", "1", 2, "201", UnitState.UNSOLD),
    unit("1", "2", 1, "101", UnitState.OCCUPIED),
    unit("10", "", 1, "101"),
    unit("2", "1", 10, "1001", UnitState.OCCUPIED),
    unit("2", "1", 9, "901"),
  ];

  it("groups by building and entrance in natural order, floors top down", () => {
    const groups = groupUnits(units);
    expect(groups.map((g) => g.building)).toEqual(["1", "2", "10"]);
    const [first, second, tenth] = groups;
    expect(first!.entrances.map((e) => e.entrance)).toEqual(["1", "2"]);
    expect(first!.entrances[0]!.floors.map((f) => f.floor)).toEqual([2, 1]);
    expect(first!.entrances[0]!.floors[1]!.units.map((u) => u.room)).toEqual(["101", "102"]);
    expect(second!.entrances[0]!.floors.map((f) => f.floor)).toEqual([10, 9]);
    expect(tenth!.entrances.map((e) => e.entrance)).toEqual([""]);
  });

  it("counts each building's and entrance's units by state", () => {
    const [first] = groupUnits(units);
    expect(first!.counts).toEqual({ total: 4, unsold: 1, vacant: 1, occupied: 2 });
    expect(first!.entrances[1]!.counts).toEqual({ total: 1, unsold: 0, vacant: 0, occupied: 1 });
  });

  it("lists the buildings and filters by state", () => {
    expect(buildingsOf(units)).toEqual(["1", "2", "10"]);
    expect(unitsInState(units, UnitState.OCCUPIED).map((u) => u.label)).toEqual(["1-1-101", "1-2-101", "2-1-1001"]);
    expect(unitsInState(units, UnitState.UNSPECIFIED)).toHaveLength(units.length);
    expect(groupUnits([])).toEqual([]);
  });

  it("offers a move-in only where nobody lives", () => {
    expect(canMoveInto(unit("1", "1", 1, "101", UnitState.VACANT))).toBe(true);
    expect(canMoveInto(unit("1", "1", 1, "101", UnitState.UNSOLD))).toBe(true);
    expect(canMoveInto(unit("1", "1", 1, "101", UnitState.OCCUPIED))).toBe(false);
  });
});

describe("unit labels as the desk types them", () => {
  const units = [unit("2", "1", 5, "502"), unit("2", "2", 5, "502"), unit("3", "", 5, "502"), unit("A", "1", 1, "101")];

  it("normalizes full-width digits, words and spaces", () => {
    expect(normalizeLabel("２栋 1单元 502室")).toBe("2-1-502");
    expect(normalizeLabel(" 2－1－502 ")).toBe("2-1-502");
    expect(normalizeLabel("a-1-101")).toBe("A-1-101");
  });

  it("finds the one unit a label means", () => {
    expect(matchUnit("2-1-502", units)?.id).toBe("u-2-1-502");
    expect(matchUnit("2栋2单元502", units)?.id).toBe("u-2-2-502");
    // Building 3 has one entrance: building-room is enough.
    expect(matchUnit("3-502", units)?.id).toBe("u-3-502");
    // Building 2 has two entrances with a 502: ambiguous.
    expect(matchUnit("2-502", units)).toBeUndefined();
    expect(matchUnit("9-9-999", units)).toBeUndefined();
    expect(matchUnit("  ", units)).toBeUndefined();
  });
});

describe("the move-in form", () => {
  it("is the RecordMoveIn request, blank rows dropped, the primary contact on its row", () => {
    const form = newMoveInForm();
    form.residents[0] = { name: " 张伟 ", relation: ResidentRelation.OWNER, phone: " 13800138000 " };
    form.residents.push(emptyResident(), { name: "张小红", relation: ResidentRelation.FAMILY, phone: "" });
    form.primary = 2;
    const req = moveInRequest("sunshine-garden", "r-1", "u-1", form);
    expect(req.propertyId).toBe("sunshine-garden");
    expect(req.requestId).toBe("r-1");
    expect(req.unitId).toBe("u-1");
    expect(req.moveInTime).toBeUndefined();
    expect(req.residents.map((r) => [r.name, r.relation, r.phone, r.primaryContact])).toEqual([
      ["张伟", ResidentRelation.OWNER, "13800138000", false],
      ["张小红", ResidentRelation.FAMILY, "", true],
    ]);
  });

  it("names the form's rows in the service's field violations", () => {
    const form = newMoveInForm();
    form.residents[0]!.name = "张伟";
    form.residents.push(emptyResident(), { name: "", relation: ResidentRelation.FAMILY, phone: "12" });
    // The request carried rows 0 and 2: its residents[1] is the form's row 2.
    expect(errorsOnRows(form, { "residents[1].phone": "is not a phone number", residents: "at most one" })).toEqual({
      "residents[2].phone": "is not a phone number",
      residents: "at most one",
    });
  });

  it("sends the first row when every row is blank, so the service says what is missing", () => {
    const form = newMoveInForm();
    expect(moveInRequest("p", "r", "u", form).residents).toHaveLength(1);
  });

  it("keeps the primary contact on the same person when a row is removed", () => {
    const form = newMoveInForm();
    form.residents.push(emptyResident(), emptyResident());
    form.primary = 2;
    removeResident(form, 0);
    expect(form.primary).toBe(1);
    removeResident(form, 1);
    expect(form.primary).toBe(0);
    removeResident(form, 0);
    expect(form.residents).toHaveLength(1);
  });
});

describe("the call and visit log", () => {
  it("reads an entry number as typed", () => {
    expect(entryNumberOf("12")).toBe(12n);
    expect(entryNumberOf(" 第１２号 ")).toBe(12n);
    expect(entryNumberOf("#7")).toBe(7n);
    expect(entryNumberOf("0")).toBeNull();
    expect(entryNumberOf("2-1-502")).toBeNull();
    expect(entryNumberOf("")).toBeNull();
  });

  it("maps the quick entry to LogContact", () => {
    const form = { ...newLogForm(), name: " 李四 ", phone: "13900001111", unit: "2-1-502", summary: " 楼道灯不亮 ", kind: ContactKind.REPAIR };
    const req = logContactRequest("p", "r-2", form, "u-2-1-502");
    expect(req.channel).toBe(Channel.PHONE);
    expect(req.kind).toBe(ContactKind.REPAIR);
    expect(req.caller?.name).toBe("李四");
    expect(req.caller?.phone).toBe("13900001111");
    expect(req.unitId).toBe("u-2-1-502");
    expect(req.summary).toBe("楼道灯不亮");
  });

  const entry = create(ContactEntrySchema, {
    number: 42n,
    channel: Channel.VISIT,
    kind: ContactKind.REPAIR,
    caller: create(ComplainantSchema, { name: "李四", phone: "139****1111" }),
    unitId: "u-1",
    summary: "维修后仍漏水",
  });

  it("offers an entry as a complaint once (CMP-2)", () => {
    expect(isMasked("139****1111")).toBe(true);
    expect(isMasked("13900001111")).toBe(false);
    expect(canBecomeComplaint(entry)).toBe(true);
    expect(canBecomeComplaint(create(ContactEntrySchema, { ...entry, complaintId: "c-1" }))).toBe(false);
  });
});

describe("the households words", () => {
  it("has every key in both languages", () => {
    const keys = (o: object, prefix = ""): string[] =>
      Object.entries(o).flatMap(([k, v]) => (typeof v === "object" ? keys(v as object, `${prefix}${k}.`) : [`${prefix}${k}`]));
    expect(keys(households.en).sort()).toEqual(keys(households["zh-CN"]).sort());
  });

  it("names every state, relation, channel and kind", () => {
    const names = (e: object) => Object.values(e).filter((v): v is string => typeof v === "string");
    for (const words of [households["zh-CN"], households.en]) {
      expect(Object.keys(words.unitState).sort()).toEqual(names(UnitState).sort());
      expect(Object.keys(words.relation).sort()).toEqual(names(ResidentRelation).sort());
      expect(Object.keys(words.householdState).sort()).toEqual(names(HouseholdState).sort());
      expect(Object.keys(words.channel).sort()).toEqual(names(Channel).sort());
      expect(Object.keys(words.kind).sort()).toEqual(names(ContactKind).sort());
    }
  });
});
