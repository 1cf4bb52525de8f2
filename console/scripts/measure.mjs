// Prints the console's first-load time on `wuye up` and the size of its initial JavaScript
// (gzip), as the issue asks: `npm run build` first, then
//   WUYE_BIN_DIR=target/release npm run measure --prefix console
// A measurement, not a test: it fails only when the console cannot load.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { consoleDir, newPage, openBrowser, startWuye } from "../e2e/harness.mjs";

const ROUNDS = 5;

/** The scripts index.html loads at once: its module entry and what it preloads. */
function initialScripts() {
  const html = readFileSync(join(consoleDir, "dist/index.html"), "utf8");
  const srcs = [...html.matchAll(/<(?:script[^>]*src|link[^>]*rel="modulepreload"[^>]*href)="([^"]+)"/g)].map(
    (m) => m[1],
  );
  return srcs.map((src) => {
    const bytes = readFileSync(join(consoleDir, "dist", src));
    return { src, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

const scripts = initialScripts();
console.log("initial JavaScript (index.html's entry and preloads):");
for (const s of scripts) console.log(`  ${s.src}  ${kb(s.raw)}  gzip ${kb(s.gzip)}`);
const total = scripts.reduce((sum, s) => sum + s.gzip, 0);
console.log(`  total gzip ${kb(total)} (aim: under 400 KB)`);

const wuye = await startWuye();
const browser = await openBrowser();
try {
  const times = [];
  for (let round = 0; round < ROUNDS; round++) {
    // A fresh context each round: an empty cache, as a first visit.
    const page = await newPage(browser);
    const start = performance.now();
    await page.goto(`${wuye.url}/sign-in`, { waitUntil: "load" });
    await page.getByText("开发环境登录").waitFor();
    const shown = performance.now() - start;
    const nav = await page.evaluate(() => {
      const [entry] = performance.getEntriesByType("navigation");
      const js = performance
        .getEntriesByType("resource")
        .filter((r) => r.name.endsWith(".js"))
        .reduce((sum, r) => sum + r.transferSize, 0);
      return { load: entry.loadEventEnd, js };
    });
    times.push({ shown, load: nav.load, js: nav.js });
    await page.context().close();
  }
  times.sort((a, b) => a.shown - b.shown);
  const median = times[Math.floor(ROUNDS / 2)];
  console.log(`first load of the sign-in page on loopback, cold cache, ${ROUNDS} rounds:`);
  console.log(`  until the page shows its sign-in: median ${median.shown.toFixed(0)} ms ` +
    `(min ${times[0].shown.toFixed(0)}, max ${times[ROUNDS - 1].shown.toFixed(0)}); aim: under 1000 ms`);
  console.log(`  load event: median ${median.load.toFixed(0)} ms; JavaScript fetched: ${kb(median.js)}`);
} finally {
  await browser.close();
  await wuye.stop();
}
