// The key desk in a real browser (KEY-2 to KEY-9), as the CS clerk of the demo (周敏):
// keys entrusted with the disclaimer read out and the customer's signature drawn on the pad,
// the register and the printable form, a loan to a technician and its return (a count more
// than lent refused in Chinese), an overdue loan chased, and a collection refused without ID
// and then made with it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { newPage, openBrowser, refusal, shot, signIn, startWuye } from "./harness.mjs";

const CLERK = "zhoumin";
// A resident ID card number whose check digit holds (GB 11643).
const ID_NUMBER = "11010519491231002X";
const SLOT = "E2E-01";

let wuye;
let browser;
let page;
/** The set entrusted by the first test, for the next ones. */
let setUrl = "";

before(async () => {
  // Two months of history: loans of the last month still out are overdue today.
  wuye = await startWuye(["--demo-months", "2"]);
  browser = await openBrowser();
  page = await newPage(browser);
  await signIn(page, wuye.url, CLERK);
});

after(async () => {
  await browser?.close();
  await wuye?.stop();
});

const at = (name) => page.locator(`[data-test="${name}"]`);

/** Picks the first option whose text contains `text` in an open Element Plus select. */
async function pick(selectName, text, { type = false } = {}) {
  await at(selectName).click();
  if (type) await page.keyboard.type(text);
  await page.locator(".el-select-dropdown__item:visible", { hasText: text }).first().click();
}

/** The field itself: Element Plus puts `data-test` on an input's own element, and on the
 *  wrapper of a number input. */
async function field(name) {
  const outer = at(name);
  const inner = outer.locator("input, textarea");
  return (await inner.count()) ? inner.first() : outer;
}

async function fill(name, value) {
  await (await field(name)).fill(value);
}

async function valueOf(name) {
  return (await field(name)).inputValue();
}

/** Draws a signature with the mouse: a few strokes across the pad. */
async function drawSignature() {
  const pad = at("signature-pad");
  await pad.scrollIntoViewIfNeeded();
  const box = await pad.boundingBox();
  assert.ok(box, "the signature pad is on the screen");
  const strokes = [
    [[0.1, 0.6], [0.18, 0.3], [0.25, 0.7], [0.32, 0.35], [0.4, 0.65]],
    [[0.45, 0.4], [0.55, 0.4], [0.5, 0.75], [0.6, 0.55]],
    [[0.65, 0.6], [0.72, 0.3], [0.8, 0.7], [0.9, 0.45]],
  ];
  for (const stroke of strokes) {
    const [first, ...rest] = stroke;
    await page.mouse.move(box.x + box.width * first[0], box.y + box.height * first[1]);
    await page.mouse.down();
    for (const [x, y] of rest) {
      await page.mouse.move(box.x + box.width * x, box.y + box.height * y, { steps: 8 });
    }
    await page.mouse.up();
  }
}

async function stateIs(text) {
  await page.waitForFunction(
    (want) => document.querySelector('[data-test="key-set-state"]')?.textContent?.includes(want),
    text,
  );
}

test("keys are entrusted with the disclaimer read out and the customer's signature drawn", async () => {
  await page.goto(`${wuye.url}/keys/new`);
  await at("entrust-form").waitFor();
  await pick("entrust-unit", "已入住", { type: true });
  await fill("entrust-customer", "林晓");
  await fill("entrust-phone", "13800138000");
  await fill("entrust-id-number", ID_NUMBER);
  await fill("entrust-count", "2");
  await fill("entrust-slot", SLOT);
  await fill("entrust-reason", "出国半年，委托保管以便检修");
  await fill("entrust-conditions", "本人凭身份证领取");
  // Not read out, not signed: the screen asks for both before anything is sent (KEY-3).
  await at("entrust-submit").click();
  await page.getByText("请先向客户宣读免责声明并勾选确认").waitFor();
  await page.getByText("请客户在签名区手写签名").waitFor();
  assert.match(await at("disclaimer-text").innerText(), /不承担为客户保管家庭财产的责任/);

  await at("disclaimer-read").click();
  await fill("disclaimer-signer", "林晓");
  await drawSignature();
  await page.getByText("已签名").first().waitFor();
  await at("entrust-submit").click();

  await page.waitForURL(/\/keys\/[^/]+\?entrusted=1$/);
  setUrl = page.url().replace(/\?.*$/, "");
  await at("signature-image").waitFor();
  const image = await at("signature-image").getAttribute("src");
  assert.match(image ?? "", /^data:image\/png;base64,/);
  assert.match(await at("key-set-facts").innerText(), new RegExp(SLOT));
  await stateIs("在柜");
  await shot(page, "keys-entrusted");
});

test("the register lists the set and prints its authorization form", async () => {
  await page.goto(`${wuye.url}/keys`);
  await at("key-register").getByText(SLOT).first().waitFor();
  await at("key-register").locator(".el-tag").first().waitFor();
  await page.locator(".el-loading-mask").waitFor({ state: "hidden" });
  await shot(page, "keys-register");

  await page.goto(`${setUrl}/form`);
  const form = page.frameLocator('[data-test="document-frame"]');
  await form.getByText("客户托管钥匙委托书").first().waitFor();
  await form.getByText("林晓").first().waitFor();
  await shot(page, "keys-entrustment-form");
  assert.equal(await at("document-frame").getAttribute("sandbox"), "allow-same-origin allow-modals");
});

test("keys are lent to a technician and taken back, counted by the clerk", async () => {
  await page.goto(setUrl);
  await at("lend").click();
  await at("borrow-dialog").waitFor();
  // The borrowers are the property's staff, from the directory.
  await pick("borrow-borrower", "张建国", { type: true });
  assert.equal(await valueOf("borrow-department"), "工程管理部");
  await fill("borrow-phone", "13900010007");
  await fill("borrow-reason", "入户检修水管");
  await fill("borrow-signature", "张建国");
  await at("borrow-submit").click();
  await stateIs("借出中");
  await at("current-loan").getByText("张建国").waitFor();

  await at("return").click();
  await at("return-dialog").waitFor();
  // Three counted back of two lent: refused, in Chinese.
  await fill("return-quantity", "3");
  await at("return-submit").click();
  assert.match(await refusal(page), /归还的数量多于借出的数量/);
  await at("return-refusal").waitFor();
  // The right count, submitted from the keyboard.
  await fill("return-quantity", "2");
  await (await field("return-quantity")).press("Enter");
  await stateIs("在柜");
  await at("set-loans").locator('[data-test="loan-standing"]', { hasText: "已归还" }).waitFor();
});

test("an overdue loan is chased with the borrowing department", async () => {
  await page.goto(`${wuye.url}/keys/overdue`);
  const chase = at("loan-chase").first();
  await chase.waitFor();
  await chase.click();
  await at("chase-dialog").waitFor();
  assert.match(await valueOf("chase-contacted"), /工程管理部/);
  await fill("chase-result", "已电话联系，答应明天上午归还");
  await at("chase-submit").click();
  await page.getByText("已登记催还").waitFor();
  await at("overdue-loans").getByText("答应明天上午归还").first().waitFor();
  await shot(page, "keys-overdue");
});

test("keys are not handed over without ID, and are with it", async () => {
  await page.goto(setUrl);
  await at("collect").click();
  await at("collect-dialog").waitFor();
  await fill("collect-signer", "林晓");
  await pick("collect-id-type", "未出示证件");
  await at("collect-submit").click();
  assert.match(await refusal(page), /领取钥匙须出示并核对身份证件/);
  const refused = at("collect-refusal");
  await refused.waitFor();
  assert.match(await refused.innerText(), /未交付：领取钥匙须出示并核对身份证件/);
  await shot(page, "keys-collect-refused");

  // The clerk looks at the card: its type is asked for again, the number typed from it.
  await at("collect-id-number").waitFor();
  await fill("collect-id-number", ID_NUMBER);
  await at("collect-submit").click();
  await stateIs("已领取");
  const collection = await at("collection").innerText();
  assert.match(collection, /林晓/);
  assert.match(collection, /002X/);
  assert.doesNotMatch(collection, new RegExp(ID_NUMBER));
  // The refusal stays in the log (KEY-9).
  await at("set-refusals").getByText("领取钥匙须出示并核对身份证件").waitFor();
});

test("the register reads on a phone", async () => {
  const phone = await newPage(browser, { phone: true });
  await signIn(phone, wuye.url, CLERK);
  await phone.goto(`${wuye.url}/keys`);
  await phone.locator('[data-test="key-set-row"]').first().waitFor();
  // Cards, not a table wider than the screen.
  const box = await phone.locator('[data-test="key-register"]').boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `the register fits the phone (${JSON.stringify(box)})`);
  await shot(phone, "keys-register-phone");
  await phone.close();
});
