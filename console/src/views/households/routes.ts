// The households area: units by building, a unit and its move-in, a household and its move-out,
// the contact list and the overview register with their print views; and the desk's call and
// visit log. Each route's method is the call its screen is built on.
import type { RouteRecordRaw } from "vue-router";

const H = "wuye.customerservice.v1.HouseholdService/";
const C = "wuye.customerservice.v1.ComplaintService/";

export const householdRoutes: RouteRecordRaw[] = [
  {
    path: "contact-log",
    component: () => import("./contact-log/LogView.vue"),
    meta: { title: "nav.contactLog", group: "nav.desk", method: `${C}ListContactLog` },
  },
  {
    path: "contact-log/:number(\\d+)",
    component: () => import("./contact-log/EntryView.vue"),
    meta: { method: `${C}GetContactLogEntry` },
  },
  {
    path: "units",
    component: () => import("./UnitsView.vue"),
    meta: { title: "households.nav.units", group: "nav.households", method: `${H}ListUnits` },
  },
  {
    path: "contacts",
    component: () => import("./ContactsView.vue"),
    meta: { title: "nav.contacts", group: "nav.households", method: `${H}ListContacts` },
  },
  {
    path: "overview",
    component: () => import("./OverviewView.vue"),
    meta: { title: "nav.overview", group: "nav.households", method: `${H}GetOverviewRegister` },
  },
  { path: "units/:unitId", component: () => import("./UnitView.vue"), meta: { method: `${H}GetUnit` } },
  {
    path: "units/:unitId/move-in",
    component: () => import("./MoveInView.vue"),
    meta: { method: `${H}RecordMoveIn` },
  },
  {
    path: "households/:householdId",
    component: () => import("./HouseholdView.vue"),
    meta: { method: `${H}GetHousehold` },
  },
  {
    path: "registers/:register(contacts|overview)/print",
    component: () => import("./RegisterPrintView.vue"),
    meta: { method: `${H}RenderRegister` },
  },
];
