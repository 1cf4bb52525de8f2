// A refused call as people read it: the stable reason in their language, and the field
// violations keyed by field so forms show them next to the fields.
import { Code, ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  PreconditionFailureSchema,
} from "@/gen/google/rpc/error_details_pb";

export interface Problem {
  code: Code;
  /** The stable reason of ErrorInfo (such as `STEP_OUT_OF_ORDER`), or "". */
  reason: string;
  /** The server's own message (English, for the record). */
  detail: string;
  /** ErrorInfo metadata, such as the posts of POST_REQUIRED. */
  metadata: Record<string, string>;
  /** Field path (as the contract names it, such as `borrower.user_id`) → description. */
  fields: Record<string, string>;
}

export function problemOf(error: unknown): Problem {
  const e = ConnectError.from(error);
  const problem: Problem = {
    code: e.code,
    reason: "",
    detail: e.rawMessage,
    metadata: {},
    fields: {},
  };
  for (const info of e.findDetails(ErrorInfoSchema)) {
    problem.reason = info.reason;
    problem.metadata = { ...info.metadata };
  }
  for (const bad of e.findDetails(BadRequestSchema)) {
    for (const v of bad.fieldViolations) problem.fields[v.field] = v.description;
  }
  for (const failure of e.findDetails(PreconditionFailureSchema)) {
    for (const v of failure.violations) {
      if (!problem.reason) problem.reason = v.type;
      problem.fields[v.subject] = v.description;
    }
  }
  return problem;
}

/** The code's name as the i18n keys write it (`codes.PermissionDenied`). */
export function codeName(code: Code): string {
  return Code[code] ?? "Unknown";
}
