// The words of the keys screens.
export const keys = {
  "zh-CN": {},
  en: {},
};
