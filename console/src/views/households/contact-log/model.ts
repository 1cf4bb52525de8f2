// The call and visit log's logic (客户来电来访登记表, CMP-1, CMP-2): the quick entry as the
// LogContact request, and a log entry registered as a complaint that keeps its number
// (CreateComplaint with contact_number).
import { create } from "@bufbuild/protobuf";
import {
  Channel,
  ComplainantSchema,
  type ContactEntry,
  ContactKind,
  type CreateComplaintRequest,
  CreateComplaintRequestSchema,
  type LogContactRequest,
  LogContactRequestSchema,
  Severity,
} from "@/gen/wuye/customerservice/v1/complaints_pb";
import { isMasked } from "../model";

/** The channels the desk picks from, the usual first. */
export const CHANNELS: Channel[] = [
  Channel.PHONE,
  Channel.VISIT,
  Channel.LETTER,
  Channel.FAX,
  Channel.APP,
];

/** What a logged contact can be about: a complaint is registered as one (CreateComplaint). */
export const KINDS: ContactKind[] = [
  ContactKind.INQUIRY,
  ContactKind.REPAIR,
  ContactKind.SUGGESTION,
  ContactKind.PRAISE,
];

export const SEVERITIES: Severity[] = [Severity.MINOR, Severity.GENERAL, Severity.SERIOUS];

/** Usual complaint categories (CS-3's service items), offered while typing. */
export const CATEGORIES = [
  "维修服务",
  "服务态度",
  "卫生",
  "绿化",
  "供水",
  "供电",
  "消防治安",
  "公共设施",
  "停车管理",
  "噪音",
];

export interface LogForm {
  channel: Channel;
  kind: ContactKind;
  name: string;
  phone: string;
  /** The unit as typed ("2-1-502"); resolved to its id before sending. */
  unit: string;
  summary: string;
}

/** An empty entry: a phone inquiry, the most common at the desk. */
export function newLogForm(): LogForm {
  return { channel: Channel.PHONE, kind: ContactKind.INQUIRY, name: "", phone: "", unit: "", summary: "" };
}

export function logContactRequest(
  propertyId: string,
  requestId: string,
  form: LogForm,
  unitId: string,
): LogContactRequest {
  return create(LogContactRequestSchema, {
    propertyId,
    requestId,
    channel: form.channel,
    kind: form.kind,
    caller: create(ComplainantSchema, { name: form.name.trim(), phone: form.phone.trim() }),
    unitId,
    summary: form.summary.trim(),
  });
}

export interface ComplaintForm {
  name: string;
  phone: string;
  /** The entry's phone was masked for this post: ask again rather than send the mask back. */
  phoneHidden: boolean;
  channel: Channel;
  unitId: string;
  category: string;
  description: string;
  severity: Severity;
}

/** The complaint form of an entry: the caller, channel, unit and summary carried over. */
export function complaintFormOf(entry: ContactEntry): ComplaintForm {
  const phone = entry.caller?.phone ?? "";
  const hidden = isMasked(phone);
  return {
    name: entry.caller?.name ?? "",
    phone: hidden ? "" : phone,
    phoneHidden: hidden,
    channel: entry.channel === Channel.UNSPECIFIED ? Channel.PHONE : entry.channel,
    unitId: entry.unitId,
    category: entry.kind === ContactKind.REPAIR ? "维修服务" : "",
    description: entry.summary,
    severity: Severity.GENERAL,
  };
}

/** CreateComplaint for the entry `number`: the complaint keeps the entry's number (CMP-2). */
export function complaintRequest(
  propertyId: string,
  requestId: string,
  number: bigint,
  form: ComplaintForm,
): CreateComplaintRequest {
  return create(CreateComplaintRequestSchema, {
    propertyId,
    requestId,
    contactNumber: number,
    channel: form.channel,
    complainant: create(ComplainantSchema, { name: form.name.trim(), phone: form.phone.trim() }),
    unitId: form.unitId,
    category: form.category.trim(),
    description: form.description.trim(),
    severity: form.severity,
  });
}

/** Whether the entry can still become a complaint (one complaint per entry). */
export function canBecomeComplaint(entry: ContactEntry): boolean {
  return !entry.complaintId;
}
