// The words of the quality department screens.
export const quality = {
  "zh-CN": {},
  en: {},
};
