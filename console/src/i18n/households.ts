// The words of the households screens.
export const households = {
  "zh-CN": {},
  en: {},
};
