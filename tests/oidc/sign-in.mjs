// Plays the browser for a client such as `wuye login`:
//   node sign-in.mjs AUTHORIZE_URL LOGIN
// signs in at the provider as LOGIN, consents, then opens the redirect_uri it is sent to (the
// client's loopback) and prints that URL and the loopback's answer status.
import { signIn } from './browser.mjs';

const [authorizeUrl, login] = process.argv.slice(2);
if (!authorizeUrl || !login) {
  console.error('usage: node sign-in.mjs AUTHORIZE_URL LOGIN');
  process.exit(2);
}
try {
  const callback = await signIn(authorizeUrl, login);
  const response = await fetch(callback, { redirect: 'manual' });
  await response.text();
  console.log(callback);
  console.log(`status ${response.status}`);
  process.exit(response.ok ? 0 : 1);
} catch (e) {
  console.error(`sign-in.mjs: ${e.message}`);
  process.exit(1);
}
