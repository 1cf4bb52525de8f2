import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { problemOf } from "@/api/errors";
import { explain, fieldWords } from "@/api/explain";
import {
  BadRequest_FieldViolationSchema,
  BadRequestSchema,
  ErrorInfoSchema,
} from "@/gen/google/rpc/error_details_pb";

describe("a refused call", () => {
  it("reads the stable reason and its metadata", () => {
    const info = create(ErrorInfoSchema, {
      reason: "POST_REQUIRED",
      domain: "wuye",
      metadata: { p1: "front_desk@sunshine-garden" },
    });
    const e = new ConnectError("you hold 2 posts", Code.PermissionDenied, undefined, [
      { desc: ErrorInfoSchema, value: info },
    ]);
    const problem = problemOf(e);
    expect(problem.code).toBe(Code.PermissionDenied);
    expect(problem.reason).toBe("POST_REQUIRED");
    expect(problem.metadata).toEqual({ p1: "front_desk@sunshine-garden" });
    expect(explain(problem)).toBe("您有多个岗位，请选择本次使用的岗位");
  });

  it("keys field violations by their field", () => {
    const bad = create(BadRequestSchema, {
      fieldViolations: [
        create(BadRequest_FieldViolationSchema, { field: "complainant.phone", description: "must not be empty" }),
        create(BadRequest_FieldViolationSchema, { field: "label", description: "cannot be read" }),
      ],
    });
    const e = new ConnectError("invalid argument", Code.InvalidArgument, undefined, [
      { desc: BadRequestSchema, value: bad },
    ]);
    const problem = problemOf(e);
    expect(problem.fields).toEqual({ "complainant.phone": "must not be empty", label: "cannot be read" });
    expect(explain(problem)).toBe("填写的内容有误，请检查标红的项");
    expect(fieldWords("must not be empty")).toBe("必填");
    expect(fieldWords("cannot be read")).toBe("cannot be read");
  });

  it("falls back to the code and the server's words for an unknown reason", () => {
    const e = new ConnectError("the shift is elsewhere", Code.FailedPrecondition);
    expect(explain(problemOf(e))).toBe("当前状态不允许此操作（the shift is elsewhere）");
  });

  it("treats a network failure as unavailable", () => {
    expect(problemOf(new TypeError("Failed to fetch")).code).toBe(Code.Unknown);
  });
});
