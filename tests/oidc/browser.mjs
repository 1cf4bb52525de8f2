// Plays the browser through the provider's development interactions: follows redirects by
// hand with a cookie jar, fills the login form with a login (any password) and the consent
// form, until the provider redirects to the client's redirect_uri.
const MAX_STEPS = 20;

class CookieJar {
  #cookies = new Map();

  take(response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => {
        const [k, v = ''] = a.trim().split('=');
        return (k.toLowerCase() === 'max-age' && Number(v) <= 0)
          || (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now());
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header() {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const unescape = (s) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#x2F;/g, '/')
  .replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

// The first form of a page that has a hidden `prompt` field: its action and prompt.
function promptForm(html) {
  for (const [form] of html.matchAll(/<form[\s\S]*?<\/form>/g)) {
    const action = form.match(/action="([^"]*)"/);
    const prompt = form.match(/name="prompt" value="([^"]*)"/);
    if (action && prompt) return { action: unescape(action[1]), prompt: prompt[1] };
  }
  return undefined;
}

// Signs in as `login` from `authorizeUrl`; returns the URL the provider finally redirects to
// (the client's redirect_uri with `code` and `state`, or with `error`), without opening it.
export async function signIn(authorizeUrl, login) {
  const redirectUri = new URL(authorizeUrl).searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error('the authorize URL has no redirect_uri');
  const jar = new CookieJar();
  let request = { url: authorizeUrl, method: 'GET' };
  for (let step = 0; step < MAX_STEPS; step += 1) {
    const response = await fetch(request.url, {
      method: request.method,
      body: request.body,
      redirect: 'manual',
      headers: {
        cookie: jar.header(),
        ...(request.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
    });
    jar.take(response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, request.url).href;
      if (next.startsWith(redirectUri.split('?')[0])) return next;
      request = { url: next, method: 'GET' };
      continue;
    }
    const html = await response.text();
    const form = response.ok ? promptForm(html) : undefined;
    if (!form) {
      throw new Error(`${request.method} ${request.url}: ${response.status}, no form to fill: ${html.slice(0, 500)}`);
    }
    const fields = form.prompt === 'login'
      ? { prompt: 'login', login, password: 'any' }
      : { prompt: form.prompt };
    request = {
      url: new URL(form.action, request.url).href,
      method: 'POST',
      body: new URLSearchParams(fields).toString(),
    };
  }
  throw new Error(`no redirect to ${redirectUri} after ${MAX_STEPS} steps`);
}
