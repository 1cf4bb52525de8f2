// The words of the engineering screens.
export const engineering = {
  "zh-CN": {},
  en: {},
};
