// The quality department's screens (品质管理部: the escalation inbox across properties, assigning, asking the property, deciding with corrective actions, closing).
import type { RouteRecordRaw } from "vue-router";

export const qualityRoutes: RouteRecordRaw[] = [];
