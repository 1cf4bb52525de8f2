// Headquarters' screens (HQ-1: the portfolio of every property as a dashboard).
import type { RouteRecordRaw } from "vue-router";

export const hqRoutes: RouteRecordRaw[] = [];
