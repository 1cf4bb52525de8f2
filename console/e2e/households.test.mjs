// The households screens and the desk's call and visit log in a real browser: a call logged
// at the front desk with the keyboard alone and found again by its number, then filed as a
// complaint that keeps the number; a move-in into a vacant unit that then appears in the
// contact list, and its move-out; screenshots of the units by building, the move-in form, the contact list and
// the call log.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { newPage, openBrowser, shot, signIn, startWuye } from "./harness.mjs";

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

/** The data-test attribute of the focused element, or its closest ancestor's. */
async function focused(page) {
  return page.evaluate(() => document.activeElement?.closest("[data-test]")?.getAttribute("data-test") ?? "");
}

test("a call logged at the desk is found by its number and filed as a complaint under it", async () => {
  const page = await newPage(browser);
  await signIn(page, wuye.url, "wangfang");
  await page.goto(`${wuye.url}/contact-log`);
  await page.locator('[data-test="log"] .el-table__row').first().waitFor();
  // The form opens on the caller's name; Tab goes on, Enter logs.
  await page.waitForFunction(() => document.activeElement?.closest('[data-test="log-name"]'));
  await page.keyboard.type("李桂英");
  await page.keyboard.press("Tab");
  await page.keyboard.type("13912345678");
  await page.keyboard.press("Tab");
  await page.keyboard.type("1-1-101");
  await page.locator('[data-test="log-kind"]').getByText("报修").click();
  await page.locator('[data-test="log-summary"]').fill("厨房水管漏水，维修后仍在滴水");
  await page.keyboard.press("Enter");
  const logged = page.locator('[data-test="logged"]');
  await logged.waitFor();
  const number = /第\s*(\d+)\s*号/.exec(await logged.innerText())?.[1];
  assert.ok(number, "the number is shown to read back to the caller");
  // The next entry starts empty, on the name again.
  assert.equal(await page.locator('[data-test="log-name"]').inputValue(), "");
  assert.equal(await page.locator('[data-test="log-summary"]').inputValue(), "");
  assert.equal(await focused(page), "log-name");
  // In the log, newest first; the list shows the phone as the gateway gives it to a list.
  const first = page.locator('[data-test="log"] .el-table__body-wrapper .el-table__row').first();
  assert.equal((await first.locator('[data-test="entry-number"]').innerText()).trim(), number);
  assert.match(await first.innerText(), /李桂英/);
  await shot(page, "contact-log");

  // Found by its number.
  await page.locator('[data-test="find-number"]').fill(number);
  await page.keyboard.press("Enter");
  await page.waitForURL(new RegExp(`/contact-log/${number}$`));
  await page.locator('[data-test="entry-summary"]').getByText("厨房水管漏水").waitFor();
  assert.equal((await page.locator('[data-test="entry"] [data-test="entry-number"]').innerText()).trim(), number);
  assert.match(await page.locator('[data-test="entry-caller"]').innerText(), /李桂英/);
  await shot(page, "contact-log-entry");

  // Filed as a complaint with the complaint form, filled from the entry: it keeps the entry's
  // number.
  await page.locator('[data-test="to-complaint"]').click();
  await page.waitForURL(new RegExp(`/complaints/new\\?contact=${number}$`));
  const form = page.locator('[data-test="complaint-form"]');
  const input = (name) => form.locator(`:is(input, textarea)[data-test="${name}"], [data-test="${name}"] :is(input, textarea)`).first();
  await form.locator('[data-test="unit-found"]').waitFor();
  assert.equal(await input("field-contact_number").inputValue(), number);
  assert.equal(await input("field-category").inputValue(), "维修服务");
  assert.equal(await input("field-description").inputValue(), "厨房水管漏水，维修后仍在滴水");
  await form.locator('[data-test="severity-GENERAL"]').click();
  await shot(page, "contact-log-to-complaint");
  await input("field-name").press("Enter");
  const created = page.locator('[data-test="created"]');
  await created.waitFor();
  assert.match(await created.innerText(), new RegExp(`${number}\\s*号`));
  // The entry now links to its complaint, and offers no second one.
  await page.goto(`${wuye.url}/contact-log/${number}`);
  const link = page.locator('[data-test="entry"] [data-test="entry-complaint"]');
  await link.waitFor();
  assert.equal(await page.locator('[data-test="to-complaint"]').count(), 0);
  await link.click();
  await page.locator('[data-test="complaint-state"]').waitFor();
  await page.close();
});

test("a household moves into a vacant unit, appears in the contact list, and moves out", async () => {
  const page = await newPage(browser);
  await signIn(page, wuye.url, "zhoumin");
  await page.goto(`${wuye.url}/units`);
  await page.locator('[data-test="unit"]').first().waitFor();
  await shot(page, "units-by-building");

  // Only vacant units: choose the first.
  await page.locator('[data-test="state-filter"]').getByText("空置").click();
  await page.waitForURL(/state=VACANT/);
  const vacant = page.locator('[data-test="unit"][data-state="VACANT"]').first();
  const label = await vacant.getAttribute("data-label");
  assert.equal(await page.locator('[data-test="unit"][data-state="OCCUPIED"]').count(), 0);
  await vacant.click();
  await page.locator('[data-test="unit-title"]').getByText(label).waitFor();
  await page.locator('[data-test="move-in"]').click();
  await page.waitForURL(/\/move-in$/);

  // The keyboard alone: the first name is focused; Enter records the move-in.
  await page.waitForFunction(() => document.activeElement?.closest('[data-test="resident-name"]'));
  await page.keyboard.type("周建华");
  await page.locator('[data-test="resident-phone"]').first().fill("13787654321");
  await page.locator('[data-test="add-resident"]').click();
  // The new row's name is focused.
  await page.waitForFunction(() => document.querySelectorAll('[data-test="resident-name"]')[1] === document.activeElement);
  await page.keyboard.type("周小雨");
  await shot(page, "move-in");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/households\/[^/]+$/);
  await page.locator('[data-test="household-state"]').getByText("在住").waitFor();
  const residents = await page.locator('[data-test="residents"]').innerText();
  assert.match(residents, /周建华/);
  assert.match(residents, /周小雨/);

  // In the contact list of its building, with the phone in full for the clerk (ARC-5).
  const building = label.split("-")[0];
  await page.goto(`${wuye.url}/contacts?building=${building}`);
  const row = page.locator('[data-test="contacts"] .el-table__body-wrapper .el-table__row').filter({ hasText: "周建华" });
  await row.waitFor();
  assert.match(await row.innerText(), new RegExp(label));
  assert.match(await row.innerText(), /13787654321/);
  await shot(page, "contact-list");

  // The unit is occupied now: no second move-in is offered.
  await page.goto(`${wuye.url}/units?building=${building}`);
  const unit = page.locator(`[data-test="unit"][data-label="${label}"]`);
  await unit.waitFor();
  assert.equal(await unit.getAttribute("data-state"), "OCCUPIED");
  await unit.click();
  await page.locator('[data-test="unit-state"]').getByText("已入住").waitFor();
  assert.equal(await page.locator('[data-test="move-in"]').count(), 0);

  // The household moves out (today): the unit is vacant again.
  await page.locator('[data-test="unit-households"] a').first().click();
  await page.locator('[data-test="move-out"]').click();
  await page.locator('[data-test="move-out-confirm"]').click();
  await page.locator('[data-test="household-state"]').getByText("已迁出").waitFor();
  await page.goto(`${wuye.url}/units?building=${building}`);
  await page.locator(`[data-test="unit"][data-label="${label}"][data-state="VACANT"]`).waitFor();
  await page.close();
});

test("the registers print as the service renders them", async () => {
  const page = await newPage(browser);
  await signIn(page, wuye.url, "zhoumin");
  await page.goto(`${wuye.url}/overview`);
  await page.locator('[data-test="totals"]').waitFor();
  await shot(page, "overview-register");
  await page.locator('[data-test="print-view"]').click();
  await page.waitForURL(/\/registers\/overview\/print/);
  const frame = page.frameLocator('[data-test="document-frame"]');
  await frame.getByText("客户情况登记一览表").first().waitFor();
  assert.equal(await page.locator('[data-test="document-frame"]').getAttribute("sandbox"), "allow-same-origin allow-modals");
  await shot(page, "overview-print");
  await page.close();
});

test("the call log's quick entry works on a phone", async () => {
  const page = await newPage(browser, { phone: true });
  await signIn(page, wuye.url, "wangfang");
  await page.goto(`${wuye.url}/contact-log`);
  await page.locator('[data-test="log-form"]').waitFor();
  await page.locator('[data-test="log"] .el-table__row').first().waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `the page fits the phone's width (${width} px)`);
  await shot(page, "contact-log-phone");
  await page.close();
});
