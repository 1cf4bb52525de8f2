import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { formatDate, formatTime, hoursUntil, instantOf } from "@/time";

describe("times in the property's zone", () => {
  const ts = timestampFromDate(new Date("2026-12-03T16:30:00Z"));

  it("formats in the zone, not the browser's", () => {
    expect(formatTime(ts, "Asia/Shanghai")).toBe("2026-12-04 00:30");
    expect(formatDate(ts, "Asia/Shanghai")).toBe("2026-12-04");
    expect(formatTime(ts, "Europe/London")).toBe("2026-12-03 16:30");
    expect(formatTime(undefined)).toBe("");
  });

  it("reads a wall-clock time of the zone", () => {
    expect(instantOf("2026-12-03", "Asia/Shanghai").toISOString()).toBe("2026-12-02T16:00:00.000Z");
    expect(instantOf("2026-12-03T14:05", "Asia/Shanghai").toISOString()).toBe("2026-12-03T06:05:00.000Z");
    // Across a daylight-saving change: London's summer time.
    expect(instantOf("2026-07-01", "Europe/London").toISOString()).toBe("2026-06-30T23:00:00.000Z");
    expect(() => instantOf("3 December", "Asia/Shanghai")).toThrow();
  });

  it("counts hours to a deadline", () => {
    const now = new Date("2026-12-03T12:30:00Z");
    expect(hoursUntil(ts, now)).toBe(4);
    expect(hoursUntil(undefined, now)).toBe(Number.POSITIVE_INFINITY);
  });
});
