// The foundation in a real browser: signing in through the development sign-in, the menu of
// what the post may do, choosing among several posts, a refused call shown in Chinese.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { newPage, openBrowser, refusal, shot, signIn, signOut, startWuye } from "./harness.mjs";

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

test("the sign-in page offers the development sign-in and its people", async () => {
  const page = await newPage(browser);
  await page.goto(wuye.url);
  await page.waitForURL(/\/sign-in/);
  await page.getByText("开发环境登录").waitFor();
  await shot(page, "sign-in");
  await page.close();
});

test("the menu shows what the post may do", async () => {
  const page = await newPage(browser);
  await signIn(page, wuye.url, "wangfang");
  const nav = page.locator(".el-aside");
  await nav.getByText("工作台").waitFor();
  assert.match(await page.locator('[data-test="me"]').innerText(), /前台/);
  await shot(page, "home-front-desk");
  await signOut(page);
  await page.close();
});

test("a person with two posts chooses one", async () => {
  const page = await newPage(browser);
  await signIn(page, wuye.url, "chenjing", "项目经理助理");
  assert.match(await page.locator('[data-test="me"]').innerText(), /项目经理助理/);
  await page.close();
});

test("a refused call shows its reason in Chinese", async () => {
  const page = await newPage(browser);
  await signIn(page, wuye.url, "wangfang");
  // The front desk works on its own property only: another property's data is refused.
  await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem("wuye.session"));
    s.propertyId = "another-property";
    sessionStorage.setItem("wuye.session", JSON.stringify(s));
  });
  await page.reload();
  const text = await refusal(page);
  assert.match(text, /无权|不允许|找不到|请/);
  await page.close();
});
