// The surveys and visits screens (满意度调查 CS-1 to CS-5, 回访 VIS-1 to VIS-5, the meeting agenda).
import type { RouteRecordRaw } from "vue-router";

export const surveyRoutes: RouteRecordRaw[] = [];
