// Tokens without a client program: the whole authorization code flow with PKCE, as a native
// public client would do it, then the token response as JSON on stdout.
//   node tokens.mjs ISSUER CLIENT_ID LOGIN [SCOPE]
//   node tokens.mjs --refresh ISSUER CLIENT_ID REFRESH_TOKEN
// SCOPE defaults to "openid profile email offline_access".
import { createHash, randomBytes } from 'node:crypto';

import { signIn } from './browser.mjs';

const b64url = (buffer) => buffer.toString('base64url');

async function discover(issuer) {
  const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`discovery at ${issuer}: ${response.status}`);
  return response.json();
}

async function token(endpoint, form) {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`token endpoint: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

async function codeFlow(issuer, clientId, login, scope) {
  const meta = await discover(issuer);
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const redirectUri = 'http://127.0.0.1:9/callback';
  const authorize = new URL(meta.authorization_endpoint);
  Object.entries({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    // OpenID Connect grants offline_access (a refresh token) only with prompt=consent.
    ...(scope.split(' ').includes('offline_access') ? { prompt: 'consent' } : {}),
    state,
    nonce,
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  }).forEach(([k, v]) => authorize.searchParams.set(k, v));
  const callback = new URL(await signIn(authorize.href, login));
  const error = callback.searchParams.get('error');
  if (error) throw new Error(`${error}: ${callback.searchParams.get('error_description')}`);
  if (callback.searchParams.get('state') !== state) throw new Error('the state came back changed');
  return token(meta.token_endpoint, {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code'),
    redirect_uri: redirectUri,
    client_id: clientId,
    code_verifier: verifier,
  });
}

async function refresh(issuer, clientId, refreshToken) {
  const meta = await discover(issuer);
  return token(meta.token_endpoint, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: clientId,
  });
}

const argv = process.argv.slice(2);
try {
  const result = argv[0] === '--refresh'
    ? await refresh(argv[1], argv[2], argv[3])
    : await codeFlow(argv[0], argv[1], argv[2], argv[3] ?? 'openid profile email offline_access');
  console.log(JSON.stringify(result));
} catch (e) {
  console.error(`tokens.mjs: ${e.message}`);
  console.error('usage: node tokens.mjs ISSUER CLIENT_ID LOGIN [SCOPE] | --refresh ISSUER CLIENT_ID REFRESH_TOKEN');
  process.exit(1);
}
