// A real OpenID provider for wuye's tests: the certified `oidc-provider` on 127.0.0.1.
//
//   node provider.mjs --keys KEYS.json [--port PORT] [--clients JSON|@FILE]
//                     [--id-token-ttl SECS] [--access-token-ttl SECS] [--refresh-token-ttl SECS]
//
// Each option may come from the environment instead: OIDC_KEYS, OIDC_PORT, OIDC_CLIENTS,
// OIDC_ID_TOKEN_TTL, OIDC_ACCESS_TOKEN_TTL, OIDC_REFRESH_TOKEN_TTL.
// - KEYS.json: a JWKS of private keys (keys.mjs writes one). A rotation restarts the provider
//   on the same port with a new file: its first key of an algorithm signs.
// - The clients: a JSON array of client metadata; each is completed as a native public client
//   (no secret, PKCE S256, authorization code and refresh tokens, loopback redirect
//   `http://127.0.0.1/callback` on any port, RFC 8252). `id_token_signed_response_alg` picks
//   RS256, ES256 or EdDSA per client. Default: one client `wuye` signing with EdDSA.
//   A client naming its `redirect_uris` is a web one (a browser console such as
//   `{"client_id":"wuye-console","redirect_uris":["http://127.0.0.1:8080/signed-in"]}`):
//   exactly those URIs, and its token requests allowed from their origins (CORS).
// - Port 0 (the default) takes a free port. The issuer is `http://127.0.0.1:<port>`.
// - Accounts: any login is an account whose `sub`, `name`, `preferred_username` are the
//   login and `email` is `<login>@example.test`. The development interactions (a login form
//   taking any login and password, then a consent form) let sign-in.mjs sign in as a browser.
//
// When it listens it prints one line `ready <issuer>` on stdout; logs go to stderr.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_PORT ?? '0' },
    keys: { type: 'string', default: process.env.OIDC_KEYS },
    clients: { type: 'string', default: process.env.OIDC_CLIENTS },
    'id-token-ttl': { type: 'string', default: process.env.OIDC_ID_TOKEN_TTL ?? '3600' },
    'access-token-ttl': { type: 'string', default: process.env.OIDC_ACCESS_TOKEN_TTL ?? '3600' },
    'refresh-token-ttl': {
      type: 'string',
      default: process.env.OIDC_REFRESH_TOKEN_TTL ?? '86400',
    },
  },
});

function fail(message) {
  console.error(`provider.mjs: ${message}`);
  process.exit(2);
}

function readJson(text, what) {
  try {
    return JSON.parse(text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text);
  } catch (e) {
    return fail(`${what}: ${e.message}`);
  }
}

function seconds(name) {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value <= 0) fail(`--${name} must be a positive number of seconds`);
  return value;
}

if (!args.keys) fail('--keys KEYS.json (or OIDC_KEYS) is required');
const jwks = readJson(`@${args.keys}`, 'the keys');
const clients = (args.clients ? readJson(args.clients, 'the clients') : [{ client_id: 'wuye' }])
  .map((client) => ({
    application_type: client.redirect_uris ? 'web' : 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback'],
    id_token_signed_response_alg: 'EdDSA',
    ...client,
  }));

const ttl = {
  idToken: seconds('id-token-ttl'),
  accessToken: seconds('access-token-ttl'),
  refreshToken: seconds('refresh-token-ttl'),
};

const account = (login) => ({
  accountId: login,
  async claims() {
    return { sub: login, name: login, preferred_username: login, email: `${login}@example.test` };
  },
});

const configuration = {
  clients,
  jwks,
  findAccount: async (_ctx, sub) => account(sub),
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  // The profile and email claims in the ID token too: the gateway sees only the ID token.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
  },
  // A browser calls the token endpoint from a page of one of its client's redirect URIs'
  // origins; other origins are refused. (Node.js's fetch, as tokens.mjs, sends no Origin.)
  clientBasedCORS: (_ctx, origin, client) =>
    client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin),
  pkce: { required: () => true },
  issueRefreshToken: async (_ctx, client, code) =>
    client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  ttl: {
    AccessToken: ttl.accessToken,
    AuthorizationCode: 60,
    IdToken: ttl.idToken,
    RefreshToken: ttl.refreshToken,
    Grant: ttl.refreshToken,
    Interaction: 600,
    Session: 86400,
  },
  cookies: { keys: ['wuye-tests-cookie-key'] },
  enabledJWA: {
    idTokenSigningAlgValues: ['RS256', 'ES256', 'EdDSA'],
  },
};

const server = createServer();
server.listen(Number(args.port), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  let provider;
  try {
    provider = new Provider(issuer, configuration);
  } catch (e) {
    fail(`the configuration: ${e.message}`);
  }
  provider.on('server_error', (_ctx, error) => console.error('server_error', error));
  const callback = provider.callback();
  server.on('request', callback);
  console.log(`ready ${issuer}`);
});
server.on('error', (e) => fail(`listening on 127.0.0.1:${args.port}: ${e.message}`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
