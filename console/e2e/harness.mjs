// The browser tests' harness: `wuye up --demo` started on a free port with a fresh data
// directory and the built console (console/dist), and Debian's chromium driven by
// playwright-core. The binaries are the release ones of WUYE_BIN_DIR (as .ci/run builds
// them), or target/release.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../..");
export const consoleDir = resolve(here, "..");
export const screenshots = join(here, "screenshots");

function binDir() {
  return process.env.WUYE_BIN_DIR ?? join(process.env.CARGO_TARGET_DIR ?? join(repo, "target"), "release");
}

export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/**
 * Starts `wuye up --demo` (extra arguments in `args`, such as ["--demo-properties", "5"]) and
 * waits until it announces itself; on `port` when given (a provider must know the console's
 * redirect URI before wuye starts), else a free one. Gives `{ url, stop, output }`.
 */
export async function startWuye(args = [], { port: chosen } = {}) {
  const port = chosen ?? (await freePort());
  const data = mkdtempSync(join(tmpdir(), "wuye-e2e-"));
  const listen = `127.0.0.1:${port}`;
  const child = spawn(
    join(binDir(), "wuye"),
    ["up", "--demo", "--listen", listen, "--data", data, "--console", join(consoleDir, "dist"), ...args],
    { cwd: repo, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "warn" } },
  );
  let output = "";
  const url = `http://${listen}`;
  const ready = new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`wuye up did not start in 180 s:\n${output}`)), 180_000);
    const read = (chunk) => {
      output += chunk;
      // After the demo loads, `wuye up` names the console's address (or that it has none).
      const said = /^console: (http|none)/m.exec(output);
      if (said) {
        clearTimeout(timer);
        if (said[1] === "none") fail(new Error(`wuye up serves no console (npm run build first):\n${output}`));
        else done();
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`wuye up exited with ${code}:\n${output}`));
    });
  });
  await ready;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((done) => setTimeout(done, 10_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    rmSync(data, { recursive: true, force: true });
  };
  return { url, stop, output: () => output };
}

/**
 * The tests' OpenID provider (tests/oidc/provider.mjs, the certified oidc-provider; `npm ci
 * --prefix tests/oidc` installs it) on a free port with fresh keys and `clients` (client
 * metadata, see provider.mjs). Any login signs in; `sub` is the login. Gives `{ issuer, stop }`.
 */
export async function startProvider(clients) {
  const dir = join(repo, "tests/oidc");
  if (!existsSync(join(dir, "node_modules/oidc-provider"))) {
    throw new Error("the test OpenID provider is not installed: npm ci --prefix tests/oidc");
  }
  const keys = join(mkdtempSync(join(tmpdir(), "wuye-e2e-oidc-")), "keys.json");
  execFileSync(process.execPath, ["keys.mjs", keys, "RS256", "ES256", "EdDSA"], { cwd: dir, stdio: "ignore" });
  const child = spawn(process.execPath, ["provider.mjs", "--keys", keys, "--clients", JSON.stringify(clients)], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const issuer = await new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the OpenID provider did not start in 30 s:\n${output}`)), 30_000);
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const ready = /^ready (\S+)$/m.exec(output);
      if (ready) {
        clearTimeout(timer);
        done(ready[1]);
      }
    });
    child.stderr.on("data", (chunk) => (output += chunk));
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`the OpenID provider exited with ${code}:\n${output}`));
    });
  });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dirname(keys), { recursive: true, force: true });
  };
  return { issuer, stop, output: () => output };
}

/**
 * Debian's chromium (playwright cannot download browsers here), headless, on a fresh profile
 * that playwright makes and removes.
 */
export async function openBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A desk screen (1366×768) or a phone (390×844). */
export async function newPage(browser, { phone = false } = {}) {
  const context = await browser.newContext({
    viewport: phone ? { width: 390, height: 844 } : { width: 1366, height: 768 },
    deviceScaleFactor: 1,
    locale: "zh-CN",
    isMobile: phone,
    hasTouch: phone,
  });
  return context.newPage();
}

/**
 * Signs in through the development sign-in as the demo person `signIn`; with several posts,
 * the one whose button reads `postLabel` (such as "客户服务部主管"). Ends on the home page.
 */
export async function signIn(page, url, signIn, postLabel) {
  await page.goto(`${url}/sign-in`);
  await page.locator('[data-test="dev-person"]').click();
  await page.keyboard.type(signIn);
  await page.locator(".el-select-dropdown__item:visible").first().click();
  await page.locator('[data-test="dev-sign-in"]').click();
  const post = page.locator('[data-test="post"]');
  const home = page.locator('[data-test="me"]');
  await Promise.race([post.first().waitFor(), home.waitFor()]);
  if (await post.count()) {
    await (postLabel ? post.filter({ hasText: postLabel }) : post).first().click();
  }
  await home.waitFor();
}

/** Signs out (to sign in as someone else in the same page). */
export async function signOut(page) {
  await page.locator('[data-test="me"]').click();
  await page.locator('[data-test="sign-out"]:visible').click();
  await page.waitForURL(/\/sign-in/);
}

/** Writes console/e2e/screenshots/<name>.png (for the README and the note). */
export async function shot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: false });
}

/** The text of the error message Element Plus shows for a refused call. */
export async function refusal(page) {
  const message = page.locator(".el-message--error").last();
  await message.waitFor();
  return (await message.innerText()).trim();
}
