// One gRPC-Web transport to the gateway at the page's own origin. Every call carries the
// signed-in person's ID token, the post they act in and the property they work on.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { credentials } from "@/session/session";
import { problemOf } from "./errors";

/** The metadata the gateway reads (gateway/src/auth, policy.rs). */
export const PROPERTY_HEADER = "x-wuye-property";
export const POST_HEADER = "x-wuye-post";

let renew: (() => Promise<boolean>) | null = null;

/** How an expired sign-in is renewed without leaving the page (see session/signin.ts). */
export function setRenewal(renewal: () => Promise<boolean>): void {
  renew = renewal;
}

const signedIn: Interceptor = (next) => async (req) => {
  const put = () => {
    const { token, postId, propertyId } = credentials();
    if (token) req.header.set("authorization", `Bearer ${token}`);
    if (postId) req.header.set(POST_HEADER, postId);
    if (propertyId && !req.header.has(PROPERTY_HEADER)) req.header.set(PROPERTY_HEADER, propertyId);
  };
  put();
  try {
    return await next(req);
  } catch (error) {
    // An expired token is renewed once and the call made again, so a form being filled in
    // survives the end of a sign-in. The gateway refused it before any work was done. Other
    // refusals of the sign-in (not in the directory, left) a new token would not change.
    if (!renew || !expired(error)) throw error;
    if (!(await renew())) throw error;
    put();
    return await next(req);
  }
};

/** A refusal a new token would lift: the sign-in expired. */
export function expired(error: unknown): boolean {
  return (
    error instanceof ConnectError &&
    error.code === Code.Unauthenticated &&
    problemOf(error).reason === "TOKEN_EXPIRED"
  );
}

export const transport = createGrpcWebTransport({
  baseUrl: globalThis.location?.origin ?? "http://127.0.0.1",
  interceptors: [signedIn],
  // Deadlines past the gateway's upstream timeout would only hide a stuck call.
  defaultTimeoutMs: 15_000,
});
