import type { RouteRecordRaw } from "vue-router";

// The methods are written out: the routes load with the first page, the screens' code later.
const complaintMethod = (rpc: string) => `wuye.customerservice.v1.ComplaintService/${rpc}`;

export const complaintRoutes: RouteRecordRaw[] = [
  {
    path: "complaints",
    component: () => import("./ComplaintList.vue"),
    meta: { title: "nav.complaints", group: "nav.desk", method: complaintMethod("ListComplaints") },
  },
  {
    path: "complaints/new",
    component: () => import("./ComplaintNew.vue"),
    meta: { title: "nav.newComplaint", group: "nav.desk", method: complaintMethod("CreateComplaint") },
  },
  {
    path: "corrective-actions",
    component: () => import("./CorrectiveActionList.vue"),
    meta: { title: "complaints.nav.corrective", group: "nav.desk", method: complaintMethod("ListCorrectiveActions") },
  },
  // A complaint by its number ("投诉 12 号") or its id.
  {
    path: "complaints/:ref",
    component: () => import("./ComplaintDetail.vue"),
    meta: { method: complaintMethod("GetComplaint") },
  },
  {
    path: "complaints/:ref/print",
    component: () => import("./ComplaintPrint.vue"),
    meta: { method: complaintMethod("RenderComplaintForm") },
  },
];
