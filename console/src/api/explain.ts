// Words for a Problem in the console's language.
import { i18n } from "@/i18n";
import { codeName, type Problem } from "./errors";

/** The sentence shown for a refused call. */
export function explain(problem: Problem): string {
  const words = i18n.global;
  if (problem.reason && words.te(`reasons.${problem.reason}`)) {
    return words.t(`reasons.${problem.reason}`);
  }
  const general = words.t(`codes.${codeName(problem.code)}`);
  // Field problems are shown at their fields; a rule's own words help when we have no
  // translation of its reason.
  if (Object.keys(problem.fields).length > 0 || !problem.detail) return general;
  return `${general}（${problem.detail}）`;
}

// The services' field descriptions are short English phrases; the usual ones read in Chinese.
const FIELD_WORDS: [RegExp, string][] = [
  [/^must not be empty$/, "必填"],
  [/^must be set$/, "必填"],
  [/^required$/, "必填"],
  [/not a (valid )?phone/, "不是有效的电话号码"],
  [/^unknown /, "不存在"],
  [/too long|at most \d+ characters/, "内容过长"],
  [/must be in the future/, "必须是将来的时间"],
  [/must be a (valid )?(date|time)/, "日期或时间不正确"],
];

/** A field violation's description in the console's language. */
export function fieldWords(description: string): string {
  if (i18n.global.locale.value !== "zh-CN") return description;
  for (const [pattern, words] of FIELD_WORDS) if (pattern.test(description)) return words;
  return description;
}
