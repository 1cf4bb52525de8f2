// The words of the complaints screens.
export const complaints = {
  "zh-CN": {},
  en: {},
};
