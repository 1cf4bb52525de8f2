// Whether the screen is a phone's (≤ 768 px): forms and facts go to one column.
import { onBeforeUnmount, ref } from "vue";

export function useNarrow() {
  const query = globalThis.matchMedia?.("(max-width: 768px)");
  const narrow = ref(query?.matches ?? false);
  const change = (e: MediaQueryListEvent) => {
    narrow.value = e.matches;
  };
  query?.addEventListener("change", change);
  onBeforeUnmount(() => query?.removeEventListener("change", change));
  return narrow;
}
