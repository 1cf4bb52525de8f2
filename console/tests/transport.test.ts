import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { expired } from "@/api/transport";
import { ErrorInfoSchema } from "@/gen/google/rpc/error_details_pb";

function refusal(code: Code, reason: string): ConnectError {
  const info = create(ErrorInfoSchema, { reason, domain: "wuye" });
  return new ConnectError(reason, code, undefined, [{ desc: ErrorInfoSchema, value: info }]);
}

describe("renewing a sign-in", () => {
  it("happens when the token expired", () => {
    expect(expired(refusal(Code.Unauthenticated, "TOKEN_EXPIRED"))).toBe(true);
  });

  it("does not happen for a person a new token would not change", () => {
    expect(expired(refusal(Code.Unauthenticated, "NOT_IN_DIRECTORY"))).toBe(false);
    expect(expired(refusal(Code.Unauthenticated, "STAFF_LEFT"))).toBe(false);
    expect(expired(refusal(Code.PermissionDenied, "POST_REQUIRED"))).toBe(false);
    expect(expired(new Error("offline"))).toBe(false);
  });
});
