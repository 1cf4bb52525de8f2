// Writes a JWKS of private signing keys for provider.mjs:
//   node keys.mjs OUT.json [ALG[:KID] ...]
// ALG is RS256 (RSA 2048), ES256 (EC P-256) or EdDSA (Ed25519); without any, one of each.
// The first key of an algorithm is the one the provider signs with, so a rotation writes the
// new key first (and may keep the old one after it, for tokens already issued).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const KINDS = {
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  EdDSA: () => generateKeyPairSync('ed25519'),
};

export function makeKey(alg, kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`) {
  const make = KINDS[alg];
  if (!make) {
    throw new Error(`unknown algorithm ${alg}: one of ${Object.keys(KINDS).join(', ')}`);
  }
  const { privateKey } = make();
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out, ...specs] = process.argv.slice(2);
  if (!out) {
    console.error('usage: node keys.mjs OUT.json [ALG[:KID] ...]');
    process.exit(2);
  }
  const keys = (specs.length ? specs : Object.keys(KINDS)).map((spec) => {
    const [alg, kid] = spec.split(':');
    return makeKey(alg, kid || undefined);
  });
  writeFileSync(out, `${JSON.stringify({ keys }, null, 2)}\n`, { mode: 0o600 });
  console.log(keys.map((k) => `${k.alg} ${k.kid}`).join('\n'));
}
