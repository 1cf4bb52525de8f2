// Signing in with the company's OpenID provider in a real browser: the authorization code
// with PKCE (oidc-client-ts) against the certified oidc-provider of tests/oidc, its login and
// consent pages, back to /signed-in, the gateway verifying the ID token and finding the
// person in the staff directory by `sub`.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { freePort, newPage, openBrowser, shot, startProvider, startWuye } from "./harness.mjs";

const CLIENT_ID = "wuye-console";

let provider;
let wuye;
let browser;

before(async () => {
  // The console's redirect URI names wuye's port, so the port is chosen first.
  const port = await freePort();
  provider = await startProvider([
    { client_id: CLIENT_ID, redirect_uris: [`http://127.0.0.1:${port}/signed-in`] },
  ]);
  wuye = await startWuye(["--oidc-issuer", provider.issuer, "--oidc-client-id", CLIENT_ID], { port });
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  await wuye?.stop();
  await provider?.stop();
});

/** A page whose provider pages load without the web font they import (no network here). */
async function companyPage() {
  const page = await newPage(browser);
  await page.context().route(/^https:\/\/fonts\.(googleapis|gstatic)\.com\//, (route) => route.abort());
  return page;
}

/** Opens `path` of the console, which asks to sign in, and leaves for the provider. */
async function toProvider(page, path = "/") {
  await page.goto(`${wuye.url}${path}`);
  await page.waitForURL(/\/sign-in/);
  await page.getByRole("button", { name: "使用 公司账号 登录" }).click();
  await page.waitForURL((url) => url.origin === provider.issuer);
}

/** From the console's sign-in page through the provider's login and consent, as `login`. */
async function signInAtProvider(page, login, { path, screenshot } = {}) {
  await toProvider(page, path);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("any password");
  if (screenshot) await shot(page, screenshot);
  await page.locator('button[type="submit"]').click();
  // Consent to the console's scopes (asked once per person and client).
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL((url) => url.origin === wuye.url && url.pathname === "/signed-in");
}

test("the sign-in page offers the company's provider beside the development sign-in", async () => {
  const page = await companyPage();
  await page.goto(`${wuye.url}/sign-in`);
  await page.getByRole("button", { name: "使用 公司账号 登录" }).waitFor();
  await page.getByText("开发环境登录").waitFor();
  const config = await (await fetch(`${wuye.url}/console/config.json`)).json();
  assert.deepEqual(config.providers, [
    { name: "公司账号", issuer: provider.issuer, client_id: CLIENT_ID, scope: "openid profile" },
  ]);
  await page.close();
});

test("the front desk signs in at the company's provider and lands on the console", async () => {
  const page = await companyPage();
  await signInAtProvider(page, "wangfang", { screenshot: "company-sign-in-provider" });
  const me = page.locator('[data-test="me"]');
  await me.waitFor();
  assert.match(await me.innerText(), /王芳.*前台/);
  await page.locator(".el-aside").getByText("工作台").waitFor();
  const url = new URL(page.url());
  assert.equal(url.pathname, "/");
  assert.equal(url.search, "", "the code and state are not left in the address");
  // The session is the provider's ID token for the console's client, its person wangfang.
  const saved = await page.evaluate(() => JSON.parse(sessionStorage.getItem("wuye.session")));
  assert.equal(saved.via, "oidc");
  assert.equal(saved.issuer, provider.issuer);
  const claims = JSON.parse(Buffer.from(saved.token.split(".")[1], "base64url").toString());
  assert.equal(claims.iss, provider.issuer);
  assert.equal(claims.aud, CLIENT_ID);
  assert.equal(claims.sub, "wangfang");
  assert.ok(saved.expiresAt > Date.now() + 30 * 60_000, "expires with the ID token, in an hour");
  await shot(page, "company-sign-in-home");
  await page.close();
});

test("a person with two posts signs in at the provider, chooses one and goes on where they were going", async () => {
  const page = await companyPage();
  await signInAtProvider(page, "chenjing", { path: "/complaints" });
  const post = page.locator('[data-test="post"]');
  await post.first().waitFor();
  assert.equal(await post.count(), 2);
  await post.filter({ hasText: "客户服务部主管" }).click();
  const me = page.locator('[data-test="me"]');
  await me.waitFor();
  assert.match(await me.innerText(), /陈静.*客户服务部主管/);
  await page.waitForURL((url) => url.pathname === "/complaints");
  await page.close();
});

test("a sign-in cancelled at the provider says so in Chinese", async () => {
  const page = await companyPage();
  await toProvider(page);
  await page.getByText("[ Cancel ]").click();
  const error = page.locator('[data-test="sign-in-error"]');
  await error.waitFor();
  assert.match(await error.innerText(), /未能通过公司账号登录/);
  await page.getByRole("button", { name: "使用 公司账号 登录" }).waitFor();
  await page.close();
});

test("a login the staff directory does not know is refused in Chinese", async () => {
  const page = await companyPage();
  const started = Date.now();
  await signInAtProvider(page, "nobody");
  const error = page.locator('[data-test="sign-in-error"]');
  await error.waitFor();
  assert.match(await error.innerText(), /员工名册中没有您的账号/);
  // Refused at once: an unknown person is no expired sign-in to renew.
  assert.ok(Date.now() - started < 8_000, `refused after ${Date.now() - started} ms`);
  // Nothing of that sign-in is kept: neither the console's session nor the provider's tokens.
  const kept = await page.evaluate(() => Object.keys(sessionStorage));
  assert.deepEqual(kept.filter((k) => k === "wuye.session" || k.startsWith("oidc.user:")), []);
  // The page still offers to sign in again.
  await page.getByRole("button", { name: "使用 公司账号 登录" }).waitFor();
  await page.close();
});
