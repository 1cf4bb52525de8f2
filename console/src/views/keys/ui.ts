// Small helpers the key desk's screens share: the phone layout (the console's one), enum words.
export { useNarrow } from "@/layout/narrow";

/** The name of a generated enum's value ("RESIDENT_ID_CARD"), for `t("keys.idType." + …)`. */
export function enumName(e: Record<number, string>, value: number): string {
  return e[value] ?? "UNSPECIFIED";
}
