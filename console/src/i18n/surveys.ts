// The words of the surveys and visits screens.
export const surveys = {
  "zh-CN": {},
  en: {},
};
