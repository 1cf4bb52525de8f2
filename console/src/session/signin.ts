// Signing in: the company's OpenID provider (authorization code with PKCE, oidc-client-ts),
// or in development the gateway's development issuer, where one picks a demo person. Either
// ends with an ID token the gateway verifies, and the post the person acts in.
import { UserManager, WebStorageStateStore } from "oidc-client-ts";
import { client } from "@/api/clients";
import { setRenewal } from "@/api/transport";
import { problemOf } from "@/api/errors";
import { AccessService } from "@/gen/wuye/gateway/v1/access_pb";
import { type Access, type Session, saveSession, session, updateSession } from "./session";

export interface Provider {
  name: string;
  issuer: string;
  client_id: string;
  scope: string;
}

/** `/console/config.json`, served by the gateway without a token. */
export interface ConsoleConfig {
  providers: Provider[];
  /** The development issuer's path, or null outside development. */
  dev_sign_in: string | null;
}

export interface DevPost {
  post_id: string;
  role: string;
  property_id: string;
}

export interface DevPerson {
  sign_in: string;
  name: string;
  posts: DevPost[];
}

/** A post to choose when the person holds several (POST_REQUIRED). */
export interface PostChoice {
  postId: string;
  role: string;
  propertyId: string;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const answer = await fetch("/console/config.json", { cache: "no-store" });
  if (!answer.ok) throw new Error(`/console/config.json: ${answer.status}`);
  return (await answer.json()) as ConsoleConfig;
}

export async function devPeople(devPath: string): Promise<DevPerson[]> {
  const answer = await fetch(`${devPath}/people`, { cache: "no-store" });
  if (!answer.ok) throw new Error(`${devPath}/people: ${answer.status}`);
  return ((await answer.json()) as { people: DevPerson[] }).people;
}

export async function devSignIn(devPath: string, signIn: string): Promise<Session> {
  const answer = await fetch(`${devPath}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ sign_in: signIn }),
  });
  if (!answer.ok) throw new Error(`${devPath}/token: ${answer.status}`);
  const token = (await answer.json()) as { id_token: string; expires_in: number };
  return {
    via: "dev",
    token: token.id_token,
    expiresAt: Date.now() + token.expires_in * 1000,
    issuer: devPath,
    signIn,
    postId: "",
    propertyId: "",
    access: null,
  };
}

function manager(provider: Provider): UserManager {
  const origin = globalThis.location.origin;
  return new UserManager({
    authority: provider.issuer,
    client_id: provider.client_id,
    redirect_uri: `${origin}/signed-in`,
    post_logout_redirect_uri: `${origin}/sign-in`,
    response_type: "code",
    scope: provider.scope || "openid profile",
    userStore: new WebStorageStateStore({ store: globalThis.sessionStorage }),
    stateStore: new WebStorageStateStore({ store: globalThis.sessionStorage }),
  });
}

/** Leaves for the provider's sign-in page; it comes back to /signed-in. */
export async function startCompanySignIn(provider: Provider, returnTo: string): Promise<void> {
  await manager(provider).signinRedirect({ state: { issuer: provider.issuer, returnTo } });
}

/** On /signed-in: exchanges the code (PKCE) for the ID token. */
export async function finishCompanySignIn(
  config: ConsoleConfig,
): Promise<{ session: Session; returnTo: string }> {
  const params = new URLSearchParams(globalThis.location.search);
  const state = params.get("state");
  const stored = state ? sessionStorage.getItem(`oidc.${state}`) : null;
  const issuer = stored ? ((JSON.parse(stored) as { authority?: string }).authority ?? "") : "";
  const provider = config.providers.find((p) => p.issuer === issuer) ?? config.providers[0];
  if (!provider) throw new Error("no sign-in provider is configured");
  const user = await manager(provider).signinCallback();
  if (!user?.id_token) throw new Error("the provider gave no ID token");
  const returnTo = (user.state as { returnTo?: string } | undefined)?.returnTo ?? "/";
  return {
    session: {
      via: "oidc",
      token: user.id_token,
      // The gateway checks the ID token's own expiry, not the access token's (expires_at).
      expiresAt: (user.profile.exp ?? user.expires_at ?? Date.now() / 1000 + 300) * 1000,
      issuer: provider.issuer,
      signIn: String(user.profile.sub),
      postId: "",
      propertyId: "",
      access: null,
    },
    returnTo,
  };
}

/**
 * Asks the gateway what the post may do, and keeps the session. A person with several posts
 * who named none gets them back to choose from.
 */
export async function establish(
  next: Session,
  postId = "",
  propertyId = "",
): Promise<{ posts: PostChoice[] } | { session: Session }> {
  const candidate: Session = { ...next, postId, propertyId: "", access: null };
  saveSession(candidate);
  try {
    const answer = await client(AccessService).getMyAccess({});
    const access: Access = {
      personId: answer.personId,
      name: answer.name,
      role: answer.role,
      postId: answer.postId,
      propertyIds: [...answer.propertyIds],
      headquarters: answer.headquarters,
      methods: [...answer.methods],
    };
    const working = propertyId || access.propertyIds[0] || "";
    const done: Session = { ...candidate, postId: access.postId, propertyId: working, access };
    saveSession(done);
    return { session: done };
  } catch (error) {
    const problem = problemOf(error);
    if (problem.reason === "POST_REQUIRED") {
      return { posts: postsOf(problem.metadata) };
    }
    saveSession(null);
    throw error;
  }
}

/** The posts of POST_REQUIRED's metadata: `post_id` → `role@property` (or `@headquarters`). */
export function postsOf(metadata: Record<string, string>): PostChoice[] {
  return Object.entries(metadata)
    .map(([postId, held]) => {
      const at = held.lastIndexOf("@");
      const role = at < 0 ? held : held.slice(0, at);
      const place = at < 0 ? "" : held.slice(at + 1);
      return { postId, role, propertyId: place === "headquarters" ? "" : place };
    })
    .sort((a, b) => (a.propertyId + a.role).localeCompare(b.propertyId + b.role));
}

export async function signOut(): Promise<void> {
  const s = session.value;
  saveSession(null);
  if (s?.via === "oidc") await forgetCompanySignIn(s.issuer);
}

/** Forgets what the company's provider at `issuer` gave this tab (its tokens). */
export async function forgetCompanySignIn(issuer: string): Promise<void> {
  const config = await loadConfig().catch(() => null);
  const provider = config?.providers.find((p) => p.issuer === issuer);
  if (provider) await manager(provider).removeUser();
}

/**
 * A new ID token for the signed-in person, keeping their post and property: the development
 * issuer signs again; the company's provider renews with its refresh token when it gave one.
 * False when it cannot: the person signs in again.
 */
export async function renewSignIn(): Promise<boolean> {
  const s = session.value;
  if (!s) return false;
  try {
    if (s.via === "dev") {
      const fresh = await devSignIn(s.issuer, s.signIn);
      updateSession({ token: fresh.token, expiresAt: fresh.expiresAt });
      return true;
    }
    const config = await loadConfig();
    const provider = config.providers.find((p) => p.issuer === s.issuer);
    if (!provider) return false;
    const users = manager(provider);
    // Only a refresh token renews: the silent way (the provider in a hidden frame) is barred
    // by the console's Content-Security-Policy and would only wait for its timeout.
    if (!(await users.getUser())?.refresh_token) return false;
    const user = await users.signinSilent();
    if (!user?.id_token) return false;
    updateSession({
      token: user.id_token,
      expiresAt: (user.profile.exp ?? user.expires_at ?? 0) * 1000,
    });
    return true;
  } catch {
    return false;
  }
}

setRenewal(renewSignIn);
