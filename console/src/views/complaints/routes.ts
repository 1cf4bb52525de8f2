import type { RouteRecordRaw } from "vue-router";

export const complaintRoutes: RouteRecordRaw[] = [];
