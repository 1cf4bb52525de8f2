// The engineering screens, phone first (工程部: duty DUTY-*, handover HO-1 to HO-8, inspections INS-*, work orders, the roster and the month's figures).
import type { RouteRecordRaw } from "vue-router";

export const engineeringRoutes: RouteRecordRaw[] = [];
