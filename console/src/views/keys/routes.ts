// The key desk (钥匙委托管理, KEY-1 to KEY-9): the custody register, entrusting keys with the
// signed disclaimer, the borrowing register, the overdue loans to chase, a set's page (its
// loans, returns, collection against ID) and its printable authorization form.
import type { RouteRecordRaw } from "vue-router";

const KEYS = "wuye.customerservice.v1.KeyService";

export const keyRoutes: RouteRecordRaw[] = [
  {
    path: "keys",
    component: () => import("./KeyRegister.vue"),
    meta: { title: "nav.keys", group: "nav.desk", method: `${KEYS}/ListKeySets` },
  },
  {
    path: "keys/new",
    component: () => import("./EntrustKeys.vue"),
    meta: { title: "keys.nav.entrust", group: "nav.desk", method: `${KEYS}/EntrustKeys` },
  },
  {
    path: "keys/loans",
    component: () => import("./KeyLoans.vue"),
    meta: { title: "nav.keyLoans", group: "nav.desk", method: `${KEYS}/ListKeyLoans` },
  },
  {
    path: "keys/overdue",
    component: () => import("./KeyLoans.vue"),
    props: { overdue: true },
    meta: { title: "keys.nav.overdue", group: "nav.desk", method: `${KEYS}/ListKeyLoans` },
  },
  {
    path: "keys/:id",
    component: () => import("./KeySetDetail.vue"),
    props: true,
    meta: { method: `${KEYS}/GetKeySet` },
  },
  {
    path: "keys/:id/form",
    component: () => import("./EntrustmentForm.vue"),
    props: true,
    meta: { method: `${KEYS}/RenderEntrustmentForm` },
  },
];
