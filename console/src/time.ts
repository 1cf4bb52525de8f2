// Dates and times in the property's time zone (the property's, not the browser's: a
// headquarters officer in another zone sees the property's day).
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { i18n } from "@/i18n";

let zone = "Asia/Shanghai";

export function setTimeZone(timeZone: string): void {
  if (timeZone) zone = timeZone;
}

export function timeZone(): string {
  return zone;
}

function locale(): string {
  return i18n.global.locale.value === "en" ? "en-GB" : "zh-CN";
}

/** "2026-12-03 14:05" in the property's zone; "" when unset. */
export function formatTime(ts: Timestamp | undefined, tz = zone): string {
  if (!ts) return "";
  const parts = partsOf(timestampDate(ts), tz);
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** "2026-12-03" in the property's zone. */
export function formatDate(ts: Timestamp | undefined, tz = zone): string {
  if (!ts) return "";
  const parts = partsOf(timestampDate(ts), tz);
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** A long form for reading, in the console's language ("2026年12月3日 14:05"). */
export function formatLong(ts: Timestamp | undefined, tz = zone): string {
  if (!ts) return "";
  return new Intl.DateTimeFormat(locale(), {
    timeZone: tz,
    dateStyle: "long",
    timeStyle: "short",
    hourCycle: "h23",
  }).format(timestampDate(ts));
}

type Parts = Record<"year" | "month" | "day" | "hour" | "minute" | "second", string>;

function partsOf(date: Date, tz: string): Parts {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: tz,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
  return {
    year: get("year"),
    month: get("month"),
    day: get("day"),
    hour: get("hour"),
    minute: get("minute"),
    second: get("second"),
  };
}

/** The zone's offset from UTC at `date`, in minutes. */
function offsetMinutes(date: Date, tz: string): number {
  const p = partsOf(date, tz);
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60_000);
}

/**
 * The instant of a wall-clock time in the zone: "2026-12-03" (midnight) or
 * "2026-12-03T14:05". Throws on text that is not one.
 */
export function instantOf(local: string, tz = zone): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?$/.exec(local.trim());
  if (!m) throw new Error(`not a date: ${local}`);
  const [, y, mo, d, h = "0", mi = "0"] = m;
  const wall = Date.UTC(+y!, +mo! - 1, +d!, +h, +mi);
  // Two rounds settle the offset across a daylight-saving change.
  let guess = wall - offsetMinutes(new Date(wall), tz) * 60_000;
  guess = wall - offsetMinutes(new Date(guess), tz) * 60_000;
  return new Date(guess);
}

export function timestampOf(local: string, tz = zone): Timestamp {
  return timestampFromDate(instantOf(local, tz));
}

/** Hours from now until `ts` (negative once past). */
export function hoursUntil(ts: Timestamp | undefined, now = new Date()): number {
  if (!ts) return Number.POSITIVE_INFINITY;
  return (timestampDate(ts).getTime() - now.getTime()) / 3_600_000;
}
