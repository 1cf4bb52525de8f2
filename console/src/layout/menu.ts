// The menu: the area routes whose screen the signed-in post may use, in their groups.
import type { RouteRecordRaw } from "vue-router";

export interface MenuEntry {
  path: string;
  title: string;
}

export interface MenuGroup {
  title: string;
  entries: MenuEntry[];
}

/** Groups in the order routes list them; an entry shows when `allowed(method)`. */
export function menuOf(routes: RouteRecordRaw[], allowed: (method: string) => boolean): MenuGroup[] {
  const groups: MenuGroup[] = [];
  for (const route of routes) {
    const meta = route.meta;
    if (!meta?.title || !meta.group) continue;
    if (meta.method && !allowed(meta.method)) continue;
    let group = groups.find((g) => g.title === meta.group);
    if (!group) {
      group = { title: meta.group, entries: [] };
      groups.push(group);
    }
    group.entries.push({ path: `/${route.path}`, title: meta.title });
  }
  return groups;
}
