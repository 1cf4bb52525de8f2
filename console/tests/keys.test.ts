import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { reasons } from "@/i18n/reasons";
import { keys } from "@/i18n/keys";
import proto from "../../proto/wuye/customerservice/v1/keys.proto?raw";
import {
  ChaseMethod,
  IdDocumentType,
  IdHolder,
  KeyChaseSchema,
  KeyLoanSchema,
  KeyLoanState,
  KeySetSchema,
  KeySetState,
  KeySource,
  LoanPurpose,
} from "@/gen/wuye/customerservice/v1/keys_pb";
import {
  borrowRequest,
  byLateness,
  canCollect,
  canLend,
  chaseRequest,
  claimantsOf,
  collectRequest,
  defaultExpectedReturn,
  departmentOf,
  emptyBorrowForm,
  emptyChaseForm,
  emptyCollectForm,
  emptyCollector,
  emptyEntrustForm,
  entrustGaps,
  entrustRequest,
  lastChase,
  pngDataUrl,
  recordIdRequest,
  returnRequest,
  standingOf,
  usablePhone,
  wallTime,
} from "@/views/keys/logic";

const at = (iso: string) => timestampFromDate(new Date(iso));
const iso = (ts: ReturnType<typeof at> | undefined) => (ts ? timestampDate(ts).toISOString() : undefined);

describe("the entrustment form as EntrustKeys takes it (KEY-2, KEY-3)", () => {
  const signature = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
  function filled() {
    return {
      ...emptyEntrustForm(),
      unitId: "u1",
      customerName: " 李四 ",
      customerPhone: "13800001234 ",
      customerIdNumber: " 11010519491231002x ",
      keyCount: 2,
      reason: " 出差 ",
      collectionConditions: "本人凭身份证领取",
      collectors: [
        { name: "王五", phone: "13900000000", idType: IdDocumentType.PASSPORT, idNumber: "E1234567" },
        emptyCollector(),
        { name: "赵六", phone: "", idType: IdDocumentType.UNSPECIFIED, idNumber: "typed before" },
      ],
      slot: " a-03 ",
      disclaimerRead: true,
      signerName: " 李四",
      signature,
    };
  }

  it("maps every field, trimmed, with the drawn signature", () => {
    const r = entrustRequest(filled(), "sunshine-garden", "req-1");
    expect(r.propertyId).toBe("sunshine-garden");
    expect(r.requestId).toBe("req-1");
    expect(r.source).toBe(KeySource.CUSTOMER);
    expect(r.unitId).toBe("u1");
    expect(r.customerName).toBe("李四");
    expect(r.customerPhone).toBe("13800001234");
    expect(r.customerIdDocumentType).toBe(IdDocumentType.RESIDENT_ID_CARD);
    expect(r.customerIdNumber).toBe("11010519491231002x");
    expect(r.keyCount).toBe(2);
    expect(r.reason).toBe("出差");
    expect(r.slot).toBe("a-03");
    expect(r.disclaimer?.accepted).toBe(true);
    expect(r.disclaimer?.signerName).toBe("李四");
    expect(r.disclaimer?.signatureImage).toEqual(signature);
    // The service stamps the signature with the entrustment's time, never the desk's clock.
    expect(r.disclaimer?.signTime).toBeUndefined();
    expect(r.entrustTime).toBeUndefined();
  });

  it("drops blank collector rows and a number typed under no document", () => {
    const r = entrustRequest(filled(), "p", "r");
    expect(r.collectors.map((c) => c.name)).toEqual(["王五", "赵六"]);
    expect(r.collectors[0]?.idDocumentType).toBe(IdDocumentType.PASSPORT);
    expect(r.collectors[1]?.idDocumentType).toBe(IdDocumentType.UNSPECIFIED);
    expect(r.collectors[1]?.idNumber).toBe("");
    const none = entrustRequest({ ...filled(), customerIdType: IdDocumentType.UNSPECIFIED }, "p", "r");
    expect(none.customerIdNumber).toBe("");
  });

  it("asks for the disclaimer read out and the signature before sending", () => {
    expect(entrustGaps(filled())).toEqual({});
    expect(entrustGaps({ ...filled(), disclaimerRead: false, signature: null })).toEqual({
      "disclaimer.accepted": "keys.entrust.mustRead",
      "disclaimer.signature_image": "keys.entrust.mustSign",
    });
    expect(entrustGaps({ ...filled(), signature: new Uint8Array() })).toHaveProperty("disclaimer.signature_image");
    // Without them the request still says so: the service refuses (DISCLAIMER_NOT_SIGNED).
    const unsigned = entrustRequest({ ...filled(), disclaimerRead: false, signature: null }, "p", "r");
    expect(unsigned.disclaimer?.accepted).toBe(false);
    expect(unsigned.disclaimer?.signatureImage.length).toBe(0);
  });
});

describe("loans and returns (KEY-6, KEY-7)", () => {
  it("reads the expected return in the property's zone", () => {
    const form = { ...emptyBorrowForm(), userId: "p-7", department: " 工程管理部", phone: "13900010007", signature: "张建国 ", reason: "入户维修", expectedReturn: "2026-12-04T18:00" };
    const r = borrowRequest(form, "set-1", "sunshine-garden", "req-2");
    expect(r.keySetId).toBe("set-1");
    expect(r.quantity).toBe(1);
    expect(r.purpose).toBe(LoanPurpose.REPAIR);
    expect(r.borrower).toMatchObject({ userId: "p-7", department: "工程管理部", phone: "13900010007" });
    expect(r.borrowerSignature).toBe("张建国");
    expect(iso(r.expectedReturnTime)).toBe("2026-12-04T10:00:00.000Z");
    // No time, or an unreadable one: the service names the field.
    expect(borrowRequest({ ...form, expectedReturn: "" }, "s", "p", "r").expectedReturnTime).toBeUndefined();
    expect(wallTime("tomorrow")).toBeUndefined();
  });

  it("offers tomorrow 18:00 of the property's day as the loan period", () => {
    // 04:00 on 12-04 in Shanghai: tomorrow is 12-05 there.
    expect(defaultExpectedReturn(new Date("2026-12-03T20:00:00Z"))).toBe("2026-12-05T18:00");
  });

  it("lends what is in the cabinet and counts the return", () => {
    const set = create(KeySetSchema, { id: "s", keyCount: 3, keysInCabinet: 3, state: KeySetState.IN_CABINET });
    expect(emptyBorrowForm(set).quantity).toBe(3);
    expect(canLend(set)).toBe(true);
    expect(canLend({ ...set, state: KeySetState.ON_LOAN })).toBe(false);
    expect(canCollect({ ...set, state: KeySetState.ON_LOAN })).toBe(false);
    const loan = create(KeyLoanSchema, { id: "l1", keysOut: 2 });
    expect(returnRequest(loan, 2, " 齐 ", "p", "r")).toMatchObject({ loanId: "l1", quantity: 2, note: "齐" });
  });

  it("names the borrowing department by the borrower's post, and keeps only whole phones", () => {
    expect(departmentOf(["technician"])).toBe("工程管理部");
    expect(departmentOf(["cs_clerk"])).toBe("客户服务部");
    expect(departmentOf(["quality_officer"])).toBe("");
    expect(usablePhone("139****0007")).toBe("");
    expect(usablePhone("13900010007")).toBe("13900010007");
  });
});

describe("how a loan stands (KEY-8)", () => {
  const now = new Date("2026-12-10T12:00:00Z");
  const open = (expected: string, overdue = false) =>
    create(KeyLoanSchema, { state: KeyLoanState.OPEN, expectedReturnTime: at(expected), overdue });

  it("counts the whole days since it was due, once the service says it is overdue", () => {
    expect(standingOf(open("2026-12-07T12:00:00Z", true), now)).toEqual({ kind: "overdue", days: 3 });
    // Just past the one-day limit: at least a day.
    expect(standingOf(open("2026-12-09T11:00:00Z", true), now)).toEqual({ kind: "overdue", days: 1 });
  });

  it("tells a loan past due within the grace from one overdue", () => {
    expect(standingOf(open("2026-12-10T02:00:00Z"), now)).toEqual({ kind: "late", hours: 10 });
  });

  it("warns of a loan due within a day", () => {
    expect(standingOf(open("2026-12-10T17:30:00Z"), now)).toEqual({ kind: "dueSoon", hours: 6 });
    expect(standingOf(open("2026-12-12T12:00:00Z"), now)).toEqual({ kind: "out" });
  });

  it("has a returned loan done, overdue or not", () => {
    const back = create(KeyLoanSchema, { state: KeyLoanState.RETURNED, overdue: true, expectedReturnTime: at("2026-12-01T00:00:00Z") });
    expect(standingOf(back, now)).toEqual({ kind: "returned" });
  });

  it("lists the longest overdue first", () => {
    const a = create(KeyLoanSchema, { id: "a", keyNumber: 1n, expectedReturnTime: at("2026-12-08T00:00:00Z") });
    const b = create(KeyLoanSchema, { id: "b", keyNumber: 2n, expectedReturnTime: at("2026-12-02T00:00:00Z") });
    const c = create(KeyLoanSchema, { id: "c", keyNumber: 3n, expectedReturnTime: at("2026-12-02T00:00:00Z") });
    expect(byLateness([c, a, b]).map((l) => l.id)).toEqual(["b", "c", "a"]);
  });

  it("finds the latest chase and offers whom to chase", () => {
    const loan = create(KeyLoanSchema, {
      borrower: { name: "张建国", department: "工程管理部" },
      chases: [
        create(KeyChaseSchema, { id: "1", chaseTime: at("2026-12-09T01:00:00Z") }),
        create(KeyChaseSchema, { id: "2", chaseTime: at("2026-12-10T01:00:00Z") }),
        create(KeyChaseSchema, { id: "3", chaseTime: at("2026-12-08T01:00:00Z") }),
      ],
    });
    expect(lastChase(loan)?.id).toBe("2");
    const form = { ...emptyChaseForm(loan), result: " 答应明天归还 ", promisedReturn: "2026-12-11T09:00" };
    expect(form.contacted).toBe("工程管理部 张建国");
    const r = chaseRequest(form, "l1", "p", "r");
    expect(r).toMatchObject({ loanId: "l1", method: ChaseMethod.PHONE, contacted: "工程管理部 张建国", result: "答应明天归还" });
    expect(iso(r.promisedReturnTime)).toBe("2026-12-11T01:00:00.000Z");
  });
});

describe("collection against ID (KEY-9)", () => {
  const set = create(KeySetSchema, {
    id: "s1",
    customerName: "李四",
    collectors: [{ name: "王五", idNumber: "****4567" }],
  });

  it("offers the customer first, then the designated collectors", () => {
    expect(claimantsOf(set)).toEqual([
      { name: "李四", designated: false, idMasked: "" },
      { name: "王五", designated: true, idMasked: "****4567" },
    ]);
    expect(emptyCollectForm(set).collectorName).toBe("李四");
  });

  it("sends no document at all when none was shown, so the service refuses and logs it", () => {
    const none = collectRequest(
      { collectorName: "李四", idType: IdDocumentType.UNSPECIFIED, idNumber: "110105", signerName: "李四" },
      "s1",
      "p",
      "r",
    );
    expect(none.idDocumentType).toBe(IdDocumentType.UNSPECIFIED);
    expect(none.idNumber).toBe("");
    const shown = collectRequest(
      { collectorName: " 李四", idType: IdDocumentType.RESIDENT_ID_CARD, idNumber: " 11010519491231002X ", signerName: "李四 " },
      "s1",
      "p",
      "r",
    );
    expect(shown).toMatchObject({
      keySetId: "s1",
      collectorName: "李四",
      idDocumentType: IdDocumentType.RESIDENT_ID_CARD,
      idNumber: "11010519491231002X",
      signerName: "李四",
    });
  });

  it("records an ID again for the customer or a collector by position", () => {
    const customer = recordIdRequest({ holder: -1, idType: IdDocumentType.RESIDENT_ID_CARD, idNumber: " x " }, "s1", "p", "r");
    expect(customer).toMatchObject({ holder: IdHolder.CUSTOMER, collectorPosition: 0, idNumber: "x" });
    const second = recordIdRequest({ holder: 1, idType: IdDocumentType.PASSPORT, idNumber: "E1" }, "s1", "p", "r");
    expect(second).toMatchObject({ holder: IdHolder.DESIGNATED_COLLECTOR, collectorPosition: 1 });
  });

  it("shows the drawn signature from its PNG bytes", () => {
    expect(pngDataUrl(new Uint8Array([0x89, 0x50, 0x4e, 0x47]))).toBe("data:image/png;base64,iVBORw==");
    expect(pngDataUrl(undefined)).toBe("");
  });
});

describe("the key desk's words", () => {
  it("has every refusal of the contract in Chinese and English", () => {
    const header = /Refusals are FAILED_PRECONDITION[^]*?\nservice/.exec(proto)?.[0] ?? "";
    const named = [...header.matchAll(/\b[A-Z][A-Z_]{5,}\b/g)].map((m) => m[0]).filter((r) => r !== "FAILED_PRECONDITION");
    expect(named).toContain("ID_NOT_VERIFIED");
    for (const reason of named) {
      expect(reasons["zh-CN"]).toHaveProperty(reason);
      expect(reasons.en).toHaveProperty(reason);
    }
  });

  it("says the same things in both languages", () => {
    const paths = (o: object, prefix = ""): string[] =>
      Object.entries(o).flatMap(([k, v]) => (typeof v === "object" ? paths(v as object, `${prefix}${k}.`) : [`${prefix}${k}`]));
    expect(paths(keys.en).sort()).toEqual(paths(keys["zh-CN"]).sort());
  });
});
