// The words of the archives screens.
export const archives = {
  "zh-CN": {},
  en: {},
};
