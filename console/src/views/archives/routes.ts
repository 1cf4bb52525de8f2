// The archives screens (档案管理: household files ARC-3, documents and versions, access requests ARC-9 to ARC-11, an official's reading ARC-8, the audit trail, retention).
import type { RouteRecordRaw } from "vue-router";

export const archiveRoutes: RouteRecordRaw[] = [];
