// Writes a gzip beside each built file worth it (dist/**/*.{js,css,html,svg,json}), once at
// build time: the gateway sends it to browsers that accept gzip and compresses nothing itself.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { constants, gzipSync } from "node:zlib";

const dist = new URL("../dist/", import.meta.url).pathname;
const worth = /\.(js|css|html|svg|json)$/;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (worth.test(name)) yield path;
  }
}

let plain = 0;
let packed = 0;
for (const path of files(dist)) {
  const bytes = readFileSync(path);
  if (bytes.length < 1024) continue;
  const gz = gzipSync(bytes, { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(`${path}.gz`, gz);
  plain += bytes.length;
  packed += gz.length;
}
console.log(`gzip beside the built files: ${(plain / 1024).toFixed(0)} KB → ${(packed / 1024).toFixed(0)} KB`);
