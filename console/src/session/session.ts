// The signed-in person of this browser tab: their ID token, the post they act in, the
// property they work on, and what the post may do (the gateway's policy, GetMyAccess).
// Kept in sessionStorage: a shared desk computer forgets it when the tab closes.
import { computed, ref } from "vue";

export interface Access {
  personId: string;
  name: string;
  role: string;
  postId: string;
  propertyIds: string[];
  headquarters: boolean;
  methods: string[];
}

export interface Session {
  /** How the token was got: the company's provider, or the development sign-in. */
  via: "oidc" | "dev";
  token: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** The provider's issuer (oidc), or the development sign-in's person (dev). */
  issuer: string;
  signIn: string;
  postId: string;
  propertyId: string;
  /** The property's name, once the frame has read it. */
  propertyName?: string;
  access: Access | null;
}

const KEY = "wuye.session";

function restore(): Session | null {
  try {
    const text = globalThis.sessionStorage?.getItem(KEY);
    return text ? (JSON.parse(text) as Session) : null;
  } catch {
    return null;
  }
}

export const session = ref<Session | null>(restore());

export function saveSession(next: Session | null): void {
  session.value = next;
  if (next) sessionStorage.setItem(KEY, JSON.stringify(next));
  else sessionStorage.removeItem(KEY);
}

export function updateSession(change: Partial<Session>): void {
  if (session.value) saveSession({ ...session.value, ...change });
}

/** What the transport puts on each call. */
export function credentials(): { token: string; postId: string; propertyId: string } {
  const s = session.value;
  return { token: s?.token ?? "", postId: s?.postId ?? "", propertyId: s?.propertyId ?? "" };
}

export const signedIn = computed(
  () => !!session.value?.access && session.value.expiresAt > Date.now(),
);

/** Whether the signed-in post may call `method` (`package.Service/Method`). */
export function can(method: string): boolean {
  return session.value?.access?.methods.includes(method) ?? false;
}
