// The complaint screens in a real browser against `wuye up --demo`: a complaint filed at the
// front desk and taken through every step of CMP-5 by the post whose step it is (deploy/
// policy.toml), with a dissatisfied round before the satisfied close; a step refused because
// someone else took it first, its reason in Chinese; a major complaint at the quality
// department, its question answered, its decision and a corrective action verified (CMP-8).
//
// People of the demo's first property (src/demo/staff.rs), picked by name at the development
// sign-in: 王芳 front desk, 周敏 CS clerk, 陈静 CS supervisor (also PM assistant), 赵刚
// maintenance foreman (also engineering manager), 刘强 project manager; 郑敏 quality officer.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { newPage, openBrowser, refusal, shot as harnessShot, signIn, startWuye } from "./harness.mjs";

const FRONT_DESK = ["王芳"];
const CLERK = ["周敏"];
const SUPERVISOR = ["陈静", "客户服务部主管"];
const FOREMAN = ["赵刚", "维修领班"];
const MANAGER = ["刘强"];
const QUALITY = ["郑敏"];

const PHONE = "139 0213 4567";
const UNIT = "2-2-502";

let wuye;
let browser;

before(async () => {
  wuye = await startWuye();
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  await wuye?.stop();
});

/** The property the desk works on (headquarters posts choose it). */
let property = "";

/** A new tab signed in as `person` in `post`, working on the desk's property. */
async function as([person, post], options) {
  const page = await newPage(browser, options);
  await signIn(page, wuye.url, person, post);
  const session = () => JSON.parse(sessionStorage.getItem("wuye.session") ?? "null");
  await page.waitForFunction(() => !!JSON.parse(sessionStorage.getItem("wuye.session") ?? "null")?.propertyId);
  const working = (await page.evaluate(session)).propertyId;
  if (!property) property = working;
  if (working !== property) {
    await page.evaluate((id) => {
      const s = JSON.parse(sessionStorage.getItem("wuye.session"));
      s.propertyId = id;
      sessionStorage.setItem("wuye.session", JSON.stringify(s));
    }, property);
  }
  return page;
}

/** A screenshot once loading masks, dialogs and Element Plus' entrance transitions are done. */
async function shot(page, name) {
  await page.waitForFunction(() =>
    [...document.querySelectorAll(".el-loading-mask, .el-overlay")].every((e) => e.getClientRects().length === 0),
  );
  await page.waitForTimeout(500);
  await harnessShot(page, name);
}

/** The input or textarea of the element marked `data-test=name` (Element Plus puts it on the input). */
function field(scope, name) {
  return scope
    .locator(`[data-test="${name}"]`)
    .locator("xpath=descendant-or-self::*[self::input or self::textarea]")
    .first();
}

async function openComplaint(page, number) {
  await page.goto(`${wuye.url}/complaints/${number}`);
  await page.locator('[data-test="complaint-state"]').waitFor();
}

async function stateOf(page) {
  return (await page.locator('[data-test="complaint-state"]').innerText()).trim();
}

async function offered(page) {
  await page.locator('[data-test="actions"]').waitFor();
  return page.locator('[data-test^="action-"]').evaluateAll((buttons) =>
    buttons.map((b) => b.getAttribute("data-test").slice("action-".length)),
  );
}

/** Opens the step's form, fills it, submits with Enter in a one-line field or the button. */
async function fillStep(page, kind, values = {}) {
  await page.locator(`[data-test="action-${kind}"]`).click();
  const form = page.locator('[data-test="step-form"]');
  await form.waitFor();
  // The keyboard starts in the form's first field.
  await page.waitForFunction(() => document.activeElement?.matches('[data-test="step-form"] [data-test^="field-"]'));
  for (const [name, text] of Object.entries(values)) await field(form, `field-${name}`).fill(text);
  if (values.team) await field(form, "field-team").press("Enter");
  else await form.locator('[data-test="step-submit"]').click();
  return form;
}

/** `who` takes step `kind` on complaint `number`; the complaint is then in `state`. */
async function takeStep(who, number, kind, values, state) {
  const page = await as(who);
  await openComplaint(page, number);
  assert.ok((await offered(page)).includes(kind), `${who[0]} is offered ${kind}`);
  const form = await fillStep(page, kind, values);
  await form.waitFor({ state: "detached" });
  await page.locator('[data-test="complaint-state"]', { hasText: state }).waitFor();
  await page.context().close();
}

/** Files a complaint at the front desk; gives its number. */
async function file(page, { name, phone, unit, category, severity, description }, before) {
  await page.goto(`${wuye.url}/complaints/new`);
  const form = page.locator('[data-test="complaint-form"]');
  await form.waitFor();
  await field(form, "field-name").fill(name);
  await field(form, "field-phone").fill(phone);
  await field(form, "field-unit").fill(unit);
  await field(form, "field-category").fill(category);
  await form.locator(`[data-test="severity-${severity}"]`).click();
  await field(form, "field-description").fill(description);
  // The unit is found by its label when the field is left.
  await field(form, "field-name").focus();
  await form.locator('[data-test="unit-found"]').waitFor();
  await form.locator('[data-test="deadline-preview"]').waitFor();
  if (before) await before(form);
  // Enter in a one-line field submits the form: no mouse needed.
  await field(form, "field-name").press("Enter");
  const created = page.locator('[data-test="created"]');
  await created.waitFor();
  const title = await created.locator(".el-result__title").innerText();
  const number = /(\d+)\s*号/.exec(title)?.[1];
  assert.ok(number, `the new complaint's number in "${title}"`);
  assert.match(await created.locator('[data-test="created-deadline"]').innerText(), /答复期限 \d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
  return number;
}

let first;

test("a complaint from intake to a satisfied close, with a dissatisfied round", { timeout: 900_000 }, async () => {
  const desk = await as(FRONT_DESK);
  first = await file(desk, {
    name: "李秀兰",
    phone: PHONE,
    unit: UNIT,
    category: "维修服务",
    severity: "GENERAL",
    description: "卫生间天花板漏水，报修后三天无人上门",
  });
  // The front desk may send it on, and nothing else at this stage.
  await openComplaint(desk, first);
  assert.equal(await stateOf(desk), "已登记");
  assert.deepEqual(await offered(desk), ["SEND_TO_TEAM"]);
  await desk.context().close();

  await takeStep(CLERK, first, "SEND_TO_TEAM", { team: "维修班", note: "请今天上门查看" }, "已派发班组");
  const plan = { plan: "更换楼上卫生间防水层", remedial_measures: "修复天花板并上门致歉" };
  await takeStep(FOREMAN, first, "PROPOSE_PLAN", plan, "方案待确认");
  await takeStep(MANAGER, first, "CONFIRM_PLAN", { note: "同意" }, "方案已确认");
  await takeStep(CLERK, first, "COMMUNICATE_PLAN", { note: "电话告知业主方案" }, "已告知方案");
  await takeStep(FOREMAN, first, "START_WORK", {}, "处理中");
  await takeStep(SUPERVISOR, first, "URGE_WORK", { note: "业主催问，请加快" }, "处理中");
  await takeStep(CLERK, first, "REPORT_HANDLING", { report: "防水层已更换，天花板已修复" }, "已出处理报告");
  await takeStep(SUPERVISOR, first, "TELL_RESULT", { note: "电话告知" }, "已告知结果");
  // Not satisfied: back to the team ("直到客户满意为止").
  await takeStep(CLERK, first, "CUSTOMER_DISSATISFIED", { comment: "天花板仍有水渍" }, "已派发班组");

  await takeStep(FOREMAN, first, "PROPOSE_PLAN", { plan: "重新检查排水管", remedial_measures: "重新粉刷天花板" }, "方案待确认");
  await takeStep(MANAGER, first, "CONFIRM_PLAN", {}, "方案已确认");
  await takeStep(CLERK, first, "COMMUNICATE_PLAN", {}, "已告知方案");
  await takeStep(FOREMAN, first, "START_WORK", {}, "处理中");
  await takeStep(CLERK, first, "REPORT_HANDLING", { report: "排水管接口已更换，天花板已粉刷" }, "已出处理报告");
  await takeStep(SUPERVISOR, first, "TELL_RESULT", {}, "已告知结果");
  await takeStep(SUPERVISOR, first, "CUSTOMER_SATISFIED", { comment: "满意" }, "已结案");

  const page = await as(SUPERVISOR);
  await openComplaint(page, first);
  assert.deepEqual(await offered(page), []);
  const timeline = page.locator('[data-test="timeline"]');
  const text = await timeline.innerText();
  for (const words of ["第 1 轮处理", "第 2 轮处理", "派发班组", "周敏（客户服务部管理员）", "赵刚（维修领班）", "刘强（项目经理）", "天花板仍有水渍", "答复客户", "客户满意，结案"]) {
    assert.ok(text.includes(words), `the timeline says "${words}"`);
  }
  assert.match(await page.locator('[data-test="deadline"]').first().innerText(), /答复/);
  await shot(page, "complaint-detail");

  // The printable handling form, rendered by the service, in its sandboxed frame.
  await page.locator('[data-test="print"]').click();
  await page.waitForURL(/\/print$/);
  const frame = page.frameLocator('[data-test="document-frame"]');
  await frame.locator("body").waitFor();
  assert.match(await frame.locator("body").innerText(), /客户投诉处理表/);
  assert.equal(await page.locator('[data-test="document-frame"]').getAttribute("sandbox"), "allow-same-origin allow-modals");
  await shot(page, "complaint-print");

  // The list, found by the unit as people say it.
  await page.goto(`${wuye.url}/complaints?unit=${encodeURIComponent(UNIT)}`);
  await page.locator(`[data-test="complaint-link"]`, { hasText: new RegExp(`^${first}$`) }).waitFor();
  await page.goto(`${wuye.url}/complaints`);
  await page.locator('[data-test="complaint-link"]').first().waitFor();
  await shot(page, "complaints-list");
  await page.context().close();

  const phone = await as(SUPERVISOR, { phone: true });
  await phone.goto(`${wuye.url}/complaints`);
  await phone.locator('[data-test="complaint-link"]').first().waitFor();
  await shot(phone, "complaints-list-phone");
  await phone.locator('[data-test="complaint-link"]').first().click();
  await phone.locator('[data-test="timeline"]').waitFor();
  await shot(phone, "complaint-detail-phone");
  await phone.context().close();
});

let second;

test("a step someone else took first is refused, with its reason in Chinese", { timeout: 300_000 }, async () => {
  const desk = await as(FRONT_DESK);
  second = await file(
    desk,
    { name: "李秀兰", phone: PHONE, unit: UNIT, category: "卫生", severity: "MINOR", description: "楼道长期无人打扫" },
    // The same caller: the desk sees their earlier complaint while filing.
    async (form) => {
      const history = form.locator('[data-test="caller-history"]');
      await history.waitFor();
      assert.match(await history.innerText(), new RegExp(`#${first}`));
      await shot(desk, "complaint-new");
    },
  );
  await desk.context().close();

  // The clerk opens it; meanwhile the supervisor sends it to a team.
  const clerk = await as(CLERK);
  await openComplaint(clerk, second);
  await takeStep(SUPERVISOR, second, "SEND_TO_TEAM", { team: "保洁班" }, "已派发班组");
  await fillStep(clerk, "SEND_TO_TEAM", { team: "维修班" });
  assert.equal(await refusal(clerk), "投诉当前的处理阶段不能执行这一步");
  // The page shows the complaint as it is now, and offers the clerk nothing more.
  await clerk.locator('[data-test="complaint-state"]', { hasText: "已派发班组" }).waitFor();
  assert.deepEqual(await offered(clerk), []);
  await clerk.context().close();
});

test("a major complaint at the quality department, and its corrective action", { timeout: 600_000 }, async () => {
  await takeStep(MANAGER, second, "MARK_MAJOR", { reason: "多次投诉保洁外包单位，需公司协调更换" }, "已派发班组");

  // The relay brings it to the department; the quality officer takes it on and asks.
  const officer = await as(QUALITY);
  await openComplaint(officer, second);
  const assign = officer.locator('[data-test="escalation-ASSIGN"]');
  for (let i = 0; !(await assign.isVisible()) && i < 30; i++) {
    await officer.waitForTimeout(1000);
    await openComplaint(officer, second);
  }
  await assign.click();
  await officer.locator('[data-test="escalation-submit"]').click();
  await officer.locator('[data-test="escalation-REQUEST_INFORMATION"]').click();
  await field(officer, "field-question").fill("外包合同何时到期？");
  await officer.locator('[data-test="escalation-submit"]').click();
  await officer.locator('[data-test="escalation-state"]', { hasText: "要求补充情况" }).waitFor();
  await officer.context().close();

  const supervisor = await as(SUPERVISOR);
  await openComplaint(supervisor, second);
  await supervisor.locator('[data-test="escalation-PROVIDE_INFORMATION"]').click();
  await field(supervisor, "field-answer").fill("明年三月到期");
  await supervisor.locator('[data-test="escalation-submit"]').click();
  await supervisor.locator('[data-test="escalation-state"]', { hasText: "已指派专人" }).waitFor();
  await supervisor.context().close();

  const deciding = await as(QUALITY);
  await openComplaint(deciding, second);
  await deciding.locator('[data-test="escalation-DECIDE"]').click();
  await field(deciding, "field-decision").fill("由公司协调更换保洁外包单位");
  await field(deciding, "field-corrective_actions").fill("每周抽查楼道保洁\n合同到期后重新招标");
  await deciding.locator('[data-test="escalation-submit"]').click();
  await deciding.locator('[data-test="escalation-decision"]').waitFor();
  await deciding.context().close();

  // The property registers a decided measure as a corrective action; the team acts; the
  // project manager, who did not act, verifies.
  const opening = await as(SUPERVISOR);
  await openComplaint(opening, second);
  await opening.locator('[data-test="escalation-decision"]').getByRole("button").first().click();
  await opening.locator('[data-test="corrective-submit"]').click();
  await opening.locator('[data-test="corrective-action"]', { hasText: "每周抽查楼道保洁" }).waitFor();
  await opening.locator('[data-test="escalation"]').scrollIntoViewIfNeeded();
  await shot(opening, "complaint-escalation");
  await opening.context().close();

  const acting = await as(FOREMAN);
  await openComplaint(acting, second);
  await acting.locator('[data-test="corrective-RECORD"]').click();
  await field(acting, "field-measures").fill("已安排每周三抽查并记录");
  await acting.locator('[data-test="corrective-submit"]').click();
  await acting.locator('[data-test="corrective-action"]', { hasText: "待验证" }).waitFor();
  await acting.context().close();

  const verifying = await as(MANAGER);
  await openComplaint(verifying, second);
  await verifying.locator('[data-test="corrective-VERIFY"]').click();
  await field(verifying, "field-verification").fill("连续四周抽查合格");
  await verifying.locator('[data-test="corrective-submit"]').click();
  await verifying.locator('[data-test="corrective-action"]', { hasText: "已验证" }).waitFor();
  // The property's verification report: verified ones too, each with its complaint.
  await verifying.goto(`${wuye.url}/corrective-actions`);
  await verifying.locator('[data-test="open-only"]').click();
  await verifying.locator('[data-test="corrective-action"]', { hasText: `投诉 ${second} 号` }).waitFor();
  await shot(verifying, "corrective-actions");
  await verifying.context().close();
});

test("the list finds complaints by what the desk knows", { timeout: 300_000 }, async () => {
  const page = await as(CLERK);
  const numbers = async () => {
    await page.locator('[data-test="complaint-list"]').waitFor();
    await page.waitForFunction(() => !document.querySelector(".el-loading-mask:not([style*='display: none'])"));
    return page.locator('[data-test="complaint-link"]').allInnerTexts();
  };
  const show = async (query) => {
    await page.goto(`${wuye.url}/complaints?${new URLSearchParams(query)}`);
    return numbers();
  };

  // The search, typed and submitted with Enter.
  await page.goto(`${wuye.url}/complaints`);
  await field(page, "filter-query").fill("天花板");
  await field(page, "filter-query").press("Enter");
  await page.waitForURL(/query=/);
  assert.deepEqual(await numbers(), [first]);

  assert.deepEqual(await show({ phone: "13902134567" }), [second, first]);
  assert.deepEqual(await show({ unit: "2栋2单元502", category: "卫生" }), [second]);
  assert.deepEqual(await show({ building: "2", team: "维修班", state: "CLOSED" }), [first]);
  assert.ok((await show({ severity: "GENERAL", deadline: "due", hours: "72" })).length > 0);
  assert.ok(!(await show({ deadline: "overdue" })).includes(first));
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
  assert.ok((await show({ from: today, to: today })).includes(second));

  // A label the service cannot read is said at its field.
  await page.goto(`${wuye.url}/complaints?unit=${encodeURIComponent("二栋")}`);
  await page.locator(".el-form-item__error", { hasText: "房号" }).waitFor();
  await page.context().close();
});
