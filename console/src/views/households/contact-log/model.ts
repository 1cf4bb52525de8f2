// The call and visit log's logic (客户来电来访登记表, CMP-1, CMP-2): the quick entry as the
// LogContact request. An entry registered as a complaint is filed with the complaint form
// (views/complaints/ComplaintNew.vue, `?contact=N`), which keeps its number.
import { create } from "@bufbuild/protobuf";
import {
  Channel,
  ComplainantSchema,
  type ContactEntry,
  ContactKind,
  type LogContactRequest,
  LogContactRequestSchema,
} from "@/gen/wuye/customerservice/v1/complaints_pb";

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

/** Whether the entry can still become a complaint (one complaint per entry). */
export function canBecomeComplaint(entry: ContactEntry): boolean {
  return !entry.complaintId;
}
