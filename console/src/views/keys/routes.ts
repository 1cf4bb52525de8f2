import type { RouteRecordRaw } from "vue-router";

export const keyRoutes: RouteRecordRaw[] = [];
