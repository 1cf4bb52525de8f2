// The customer service desk's words: complaints, the call and visit log, keys, households.
export const desk = {
  "zh-CN": {},
  en: {},
};
