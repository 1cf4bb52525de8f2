// zh-CN by default, English on request; the choice is kept in localStorage. Each area of the
// console keeps its words in its own file, merged here.
import { createI18n } from "vue-i18n";
import { common } from "./common";
import { reasons } from "./reasons";
import { complaints } from "./complaints";
import { households } from "./households";
import { keys } from "./keys";
import { engineering } from "./engineering";
import { archives } from "./archives";
import { surveys } from "./surveys";
import { quality } from "./quality";
import { hq } from "./hq";

export type Locale = "zh-CN" | "en";
export const LOCALES: Locale[] = ["zh-CN", "en"];
const KEY = "wuye.locale";

function messages(locale: Locale) {
  return {
    ...common[locale],
    complaints: complaints[locale],
    keys: keys[locale],
    households: households[locale],
    engineering: engineering[locale],
    archives: archives[locale],
    surveys: surveys[locale],
    quality: quality[locale],
    hq: hq[locale],
    reasons: reasons[locale],
  };
}

function initial(): Locale {
  const saved = globalThis.localStorage?.getItem(KEY);
  return saved === "en" ? "en" : "zh-CN";
}

export const i18n = createI18n({
  legacy: false,
  locale: initial(),
  fallbackLocale: "zh-CN",
  messages: { "zh-CN": messages("zh-CN"), en: messages("en") },
  missingWarn: false,
  fallbackWarn: false,
});

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  localStorage.setItem(KEY, locale);
  document.documentElement.lang = locale;
}

export const t = i18n.global.t;
