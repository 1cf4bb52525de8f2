// Small helpers the key desk's screens share: the narrow (phone) layout, enum words.
import { onBeforeUnmount, onMounted, ref } from "vue";

const PHONE = "(max-width: 768px)";

/** True on a phone-sized screen (≤ 768 px): one column, labels above fields. */
export function useNarrow() {
  const query = globalThis.matchMedia?.(PHONE);
  const narrow = ref(query?.matches ?? false);
  const change = (e: MediaQueryListEvent) => (narrow.value = e.matches);
  onMounted(() => query?.addEventListener("change", change));
  onBeforeUnmount(() => query?.removeEventListener("change", change));
  return narrow;
}

/** The name of a generated enum's value ("RESIDENT_ID_CARD"), for `t("keys.idType." + …)`. */
export function enumName(e: Record<number, string>, value: number): string {
  return e[value] ?? "UNSPECIFIED";
}
