import type { RouteRecordRaw } from "vue-router";

export const householdRoutes: RouteRecordRaw[] = [];
