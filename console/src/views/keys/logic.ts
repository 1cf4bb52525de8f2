// The key desk's forms as the contract's requests, and how a loan stands (KEY-6 to KEY-9).
// Pure functions: the screens bind the forms, the tests check the mapping.
import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type BorrowKeysRequest,
  BorrowKeysRequestSchema,
  ChaseMethod,
  type CollectKeysRequest,
  CollectKeysRequestSchema,
  DesignatedCollectorSchema,
  DisclaimerSignatureSchema,
  type EntrustKeysRequest,
  EntrustKeysRequestSchema,
  IdDocumentType,
  IdHolder,
  type KeyLoan,
  KeyLoanState,
  type KeySet,
  KeySetState,
  KeySource,
  LoanPurpose,
  type RecordCustodyIdRequest,
  RecordCustodyIdRequestSchema,
  type RecordKeyChaseRequest,
  RecordKeyChaseRequestSchema,
  type ReturnKeysRequest,
  ReturnKeysRequestSchema,
} from "@/gen/wuye/customerservice/v1/keys_pb";
import { formatDate, timestampOf } from "@/time";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** A wall-clock time of the property ("2026-12-03T18:00") as a Timestamp; none when unreadable. */
export function wallTime(local: string): Timestamp | undefined {
  if (!local.trim()) return undefined;
  try {
    return timestampOf(local);
  } catch {
    return undefined;
  }
}

// --- Entrustment (KEY-1 to KEY-5) ------------------------------------------------------------

export interface CollectorForm {
  name: string;
  phone: string;
  idType: IdDocumentType;
  idNumber: string;
}

export interface EntrustForm {
  source: KeySource;
  unitId: string;
  customerName: string;
  customerPhone: string;
  customerIdType: IdDocumentType;
  customerIdNumber: string;
  keyCount: number;
  reason: string;
  collectionConditions: string;
  collectors: CollectorForm[];
  slot: string;
  /** The clerk read the disclaimer out and the customer accepted it (KEY-3). */
  disclaimerRead: boolean;
  /** The name as the customer signed it. */
  signerName: string;
  /** The signature drawn on the pad, PNG. */
  signature: Uint8Array | null;
}

export function emptyEntrustForm(): EntrustForm {
  return {
    source: KeySource.CUSTOMER,
    unitId: "",
    customerName: "",
    customerPhone: "",
    customerIdType: IdDocumentType.RESIDENT_ID_CARD,
    customerIdNumber: "",
    keyCount: 1,
    reason: "",
    collectionConditions: "",
    collectors: [],
    slot: "",
    disclaimerRead: false,
    signerName: "",
    signature: null,
  };
}

export function emptyCollector(): CollectorForm {
  return { name: "", phone: "", idType: IdDocumentType.UNSPECIFIED, idNumber: "" };
}

/** A document as a request names it: no type means no number either (none on file, none
 *  shown), whatever was typed before the type was changed. */
function idOf(type: IdDocumentType, number: string): [IdDocumentType, string] {
  return type === IdDocumentType.UNSPECIFIED ? [IdDocumentType.UNSPECIFIED, ""] : [type, number.trim()];
}

/** Collectors the clerk left entirely blank are not on the form. */
function collectorsOf(rows: CollectorForm[]) {
  return rows
    .filter((c) => c.name.trim() || c.phone.trim() || c.idNumber.trim())
    .map((c) => {
      const [idDocumentType, idNumber] = idOf(c.idType, c.idNumber);
      return create(DesignatedCollectorSchema, {
        name: c.name.trim(),
        phone: c.phone.trim(),
        idDocumentType,
        idNumber,
      });
    });
}

/**
 * The entrustment as EntrustKeys takes it. The sign time is left to the service (it is the
 * entrustment's time), so a desk computer's clock never makes it "in the future".
 */
export function entrustRequest(form: EntrustForm, propertyId: string, requestId: string): EntrustKeysRequest {
  const [customerIdDocumentType, customerIdNumber] = idOf(form.customerIdType, form.customerIdNumber);
  return create(EntrustKeysRequestSchema, {
    propertyId,
    requestId,
    source: form.source,
    unitId: form.unitId,
    customerName: form.customerName.trim(),
    customerPhone: form.customerPhone.trim(),
    customerIdDocumentType,
    customerIdNumber,
    keyCount: form.keyCount,
    reason: form.reason.trim(),
    collectionConditions: form.collectionConditions.trim(),
    collectors: collectorsOf(form.collectors),
    slot: form.slot.trim(),
    disclaimer: create(DisclaimerSignatureSchema, {
      accepted: form.disclaimerRead,
      signerName: form.signerName.trim(),
      signatureImage: form.signature ?? new Uint8Array(),
    }),
  });
}

/**
 * What the screen itself asks before sending (field path → i18n key): the disclaimer read
 * out and the signature drawn (KEY-3). Everything else the service checks.
 */
export function entrustGaps(form: EntrustForm): Record<string, string> {
  const gaps: Record<string, string> = {};
  if (!form.disclaimerRead) gaps["disclaimer.accepted"] = "keys.entrust.mustRead";
  if (!form.signature || form.signature.length === 0) gaps["disclaimer.signature_image"] = "keys.entrust.mustSign";
  return gaps;
}

// --- Loans (KEY-6, KEY-7) ----------------------------------------------------------------------

export interface BorrowForm {
  quantity: number;
  purpose: LoanPurpose;
  reason: string;
  /** The borrower's staff id (person_id) in the directory. */
  userId: string;
  department: string;
  phone: string;
  /** The borrower signs the register with their name. */
  signature: string;
  /** The property's wall-clock time, "2026-12-04T18:00". */
  expectedReturn: string;
}

/** Tomorrow at 18:00 in the property's zone: a repair's usual loan period. */
export function defaultExpectedReturn(now = new Date()): string {
  const tomorrow = formatDate(timestampFromDate(new Date(now.getTime() + DAY_MS)));
  return `${tomorrow}T18:00`;
}

export function emptyBorrowForm(set?: KeySet, now = new Date()): BorrowForm {
  return {
    quantity: Math.max(1, set?.keysInCabinet ?? 1),
    purpose: LoanPurpose.REPAIR,
    reason: "",
    userId: "",
    department: "",
    phone: "",
    signature: "",
    expectedReturn: defaultExpectedReturn(now),
  };
}

export function borrowRequest(
  form: BorrowForm,
  keySetId: string,
  propertyId: string,
  requestId: string,
): BorrowKeysRequest {
  return create(BorrowKeysRequestSchema, {
    propertyId,
    requestId,
    keySetId,
    quantity: form.quantity,
    purpose: form.purpose,
    reason: form.reason.trim(),
    borrower: { userId: form.userId, department: form.department.trim(), phone: form.phone.trim() },
    borrowerSignature: form.signature.trim(),
    expectedReturnTime: wallTime(form.expectedReturn),
  });
}

export function returnRequest(
  loan: KeyLoan,
  quantity: number,
  note: string,
  propertyId: string,
  requestId: string,
): ReturnKeysRequest {
  return create(ReturnKeysRequestSchema, { propertyId, requestId, loanId: loan.id, quantity, note: note.trim() });
}

// --- Chasing an overdue loan (KEY-8) -----------------------------------------------------------

export interface ChaseForm {
  method: ChaseMethod;
  contacted: string;
  result: string;
  /** "" when the borrower promised nothing. */
  promisedReturn: string;
}

export function emptyChaseForm(loan?: KeyLoan): ChaseForm {
  const b = loan?.borrower;
  const contacted = b ? [b.department, b.name].filter(Boolean).join(" ") : "";
  return { method: ChaseMethod.PHONE, contacted, result: "", promisedReturn: "" };
}

export function chaseRequest(
  form: ChaseForm,
  loanId: string,
  propertyId: string,
  requestId: string,
): RecordKeyChaseRequest {
  return create(RecordKeyChaseRequestSchema, {
    propertyId,
    requestId,
    loanId,
    method: form.method,
    contacted: form.contacted.trim(),
    result: form.result.trim(),
    promisedReturnTime: wallTime(form.promisedReturn),
  });
}

// --- Collection against ID (KEY-9) -------------------------------------------------------------

export interface CollectForm {
  /** The claimant's name: the customer's, a designated collector's, or someone else's. */
  collectorName: string;
  /** UNSPECIFIED: no document was shown (refused and logged, ID_NOT_VERIFIED). */
  idType: IdDocumentType;
  idNumber: string;
  /** The collector signs the register with their name. */
  signerName: string;
}

export function emptyCollectForm(set?: KeySet): CollectForm {
  return { collectorName: set?.customerName ?? "", idType: IdDocumentType.RESIDENT_ID_CARD, idNumber: "", signerName: "" };
}

export function collectRequest(
  form: CollectForm,
  keySetId: string,
  propertyId: string,
  requestId: string,
): CollectKeysRequest {
  const [idDocumentType, idNumber] = idOf(form.idType, form.idNumber);
  return create(CollectKeysRequestSchema, {
    propertyId,
    requestId,
    keySetId,
    collectorName: form.collectorName.trim(),
    idDocumentType,
    idNumber,
    signerName: form.signerName.trim(),
  });
}

/** The people the form names as collectors: the customer first, then the designated ones. */
export function claimantsOf(set: KeySet): { name: string; designated: boolean; idMasked: string }[] {
  return [
    { name: set.customerName, designated: false, idMasked: "" },
    ...set.collectors.map((c) => ({ name: c.name, designated: true, idMasked: c.idNumber })),
  ].filter((c) => c.name);
}

/** Refusals after which the clerk checks the document again: the ID fields want attention. */
export const ID_REFUSALS = ["ID_NOT_VERIFIED", "ID_ON_FILE_UNVERIFIABLE", "ID_DOES_NOT_MATCH_RECORD"];

export interface RecordIdForm {
  /** -1 for the customer, else the designated collector's position on the form. */
  holder: number;
  idType: IdDocumentType;
  idNumber: string;
}

export function recordIdRequest(
  form: RecordIdForm,
  keySetId: string,
  propertyId: string,
  requestId: string,
): RecordCustodyIdRequest {
  const customer = form.holder < 0;
  return create(RecordCustodyIdRequestSchema, {
    propertyId,
    requestId,
    keySetId,
    holder: customer ? IdHolder.CUSTOMER : IdHolder.DESIGNATED_COLLECTOR,
    collectorPosition: customer ? 0 : form.holder,
    idDocumentType: form.idType,
    idNumber: form.idNumber.trim(),
  });
}

// --- How a loan stands (KEY-8) -----------------------------------------------------------------

export type Standing =
  | { kind: "returned" }
  /** Past its limit (the service's judgement, KEY-8): to be chased. */
  | { kind: "overdue"; days: number }
  /** Past its expected return, within the property's grace before it is overdue. */
  | { kind: "late"; hours: number }
  /** Due back within a day. */
  | { kind: "dueSoon"; hours: number }
  | { kind: "out" };

function ms(ts: Timestamp | undefined): number | undefined {
  return ts ? timestampDate(ts).getTime() : undefined;
}

/**
 * Where a loan stands at `now`. Whether it is overdue is the service's call (`overdue`, from
 * the property's limit); the days counted are the whole days since it was due back.
 */
export function standingOf(loan: KeyLoan, now = new Date()): Standing {
  if (loan.state === KeyLoanState.RETURNED) return { kind: "returned" };
  const due = ms(loan.expectedReturnTime);
  const t = now.getTime();
  if (loan.overdue) {
    return { kind: "overdue", days: due === undefined ? 0 : Math.max(1, Math.floor((t - due) / DAY_MS)) };
  }
  if (due === undefined) return { kind: "out" };
  if (t > due) return { kind: "late", hours: Math.floor((t - due) / HOUR_MS) };
  if (due - t <= DAY_MS) return { kind: "dueSoon", hours: Math.ceil((due - t) / HOUR_MS) };
  return { kind: "out" };
}

/** Overdue loans, the longest overdue first; then by key number. */
export function byLateness(loans: KeyLoan[]): KeyLoan[] {
  return [...loans].sort((a, b) => {
    const da = ms(a.expectedReturnTime) ?? Number.MAX_SAFE_INTEGER;
    const db = ms(b.expectedReturnTime) ?? Number.MAX_SAFE_INTEGER;
    return da - db || Number(a.keyNumber - b.keyNumber);
  });
}

/** The latest chase of a loan, if any. */
export function lastChase(loan: KeyLoan) {
  let last: KeyLoan["chases"][number] | undefined;
  for (const c of loan.chases) {
    if (!last || (ms(c.chaseTime) ?? 0) > (ms(last.chaseTime) ?? 0)) last = c;
  }
  return last;
}

// --- What the desk may do with a set now -------------------------------------------------------

export function canLend(set: KeySet): boolean {
  return set.state === KeySetState.IN_CABINET;
}

export function canCollect(set: KeySet): boolean {
  return set.state === KeySetState.IN_CABINET;
}

/** The borrowing department a role usually belongs to, offered when a borrower is chosen. */
export function departmentOf(roles: string[]): string {
  const has = (r: string[]) => roles.some((x) => r.includes(x));
  if (has(["engineering_manager", "maintenance_foreman", "technician"])) return "工程管理部";
  if (has(["cs_supervisor", "cs_clerk", "front_desk"])) return "客户服务部";
  if (has(["project_manager", "project_manager_assistant"])) return "物业服务中心";
  return "";
}

/** A phone of the directory as an answer gives it: masked ones ("139****0001") are not usable. */
export function usablePhone(phone: string): string {
  return phone.includes("*") ? "" : phone;
}

/** The signature image as an <img> source. */
export function pngDataUrl(bytes: Uint8Array | undefined): string {
  if (!bytes || bytes.length === 0) return "";
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return `data:image/png;base64,${btoa(binary)}`;
}
