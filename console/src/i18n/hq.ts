// The words of the headquarters screens.
export const hq = {
  "zh-CN": {},
  en: {},
};
