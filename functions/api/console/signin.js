// Hosted sign-in on a deployed stack: Amazon Cognito's hosted UI, OAuth 2.0 authorization
// code with PKCE (S256) and `state`, as a public client (no secret). GET /v1/auth/config says
// where it is; it answers 404 where there is none (the local stack signs in its demo users).
import { url } from "./api.js";

const FLOW = "mailport.signin.flow"; // this tab's sign-in in progress: {state, verifier}

export class SignInError extends Error {
  constructor(code, message = "") {
    super(message);
    this.code = code;
  }
}

/** The hosted sign-in's endpoints and client, or null where there is none. */
export async function hostedConfig() {
  try {
    const response = await fetch(url("/v1/auth/config"), { headers: { Accept: "application/json" } });
    if (!response.ok) return null;
    const config = await response.json();
    return config && config.authorize_url && config.token_url && config.client_id ? config : null;
  } catch {
    return null;
  }
}

function base64url(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const randomString = (length) => base64url(crypto.getRandomValues(new Uint8Array(length)));

async function s256(verifier) {
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

/** Where the hosted UI sends the browser back: the client's one callback URL. */
const redirectUri = (config) =>
  config.redirect_uri || `${window.location.origin}${window.location.pathname}`;

/** Go to the hosted UI; it comes back to the console with ?code=&state= (or ?error=). */
export async function beginSignIn(config) {
  const state = randomString(32);
  const verifier = randomString(48); // 64 characters, within RFC 7636's 43 to 128
  sessionStorage.setItem(FLOW, JSON.stringify({ state, verifier }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: redirectUri(config),
    scope: (config.scopes || ["openid"]).join(" "),
    state,
    code_challenge: await s256(verifier),
    code_challenge_method: "S256",
  });
  window.location.assign(`${config.authorize_url}?${query}`);
}

/** The hosted UI's answer in this page's address, or null when this is no callback. */
export function callbackParams() {
  const query = new URLSearchParams(window.location.search);
  if (!query.has("code") && !query.has("error")) return null;
  return Object.fromEntries(query.entries());
}

/** Finish the sign-in the callback answers: check the state, redeem the code (with the
 * PKCE verifier) at the token endpoint and return the ID token (what the API's Cognito
 * authorizer takes). The code leaves the address bar and the flow is used up either way. */
export async function finishSignIn(config, params) {
  const flow = JSON.parse(sessionStorage.getItem(FLOW) || "null");
  sessionStorage.removeItem(FLOW);
  window.history.replaceState(null, "", `${window.location.pathname}${window.location.hash}`);
  if (params.error) throw new SignInError("signin_refused", params.error_description || params.error);
  if (!flow || !params.state || params.state !== flow.state) throw new SignInError("signin_state_mismatch");
  if (!config) throw new SignInError("signin_not_configured");
  let response;
  try {
    response = await fetch(config.token_url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: config.client_id,
        code: params.code,
        redirect_uri: redirectUri(config),
        code_verifier: flow.verifier,
      }),
    });
  } catch (e) {
    throw new SignInError("signin_unreachable", e.message);
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok || !data.id_token) {
    throw new SignInError("signin_failed", data.error || `HTTP ${response.status}`);
  }
  return data.id_token;
}

/** Sign out of the hosted UI too (its session cookie), then back to the console. */
export function signOutUrl(config) {
  const query = new URLSearchParams({ client_id: config.client_id, logout_uri: redirectUri(config) });
  return `${config.logout_url}?${query}`;
}

// How this tab signed in ("hosted": sign out at the hosted UI too), and a notice that
// survives the trip through the hosted UI's logout (shown on the sign-in page once).
const VIA = "mailport.signin.via";
const NOTICE = "mailport.signin.notice";

export const signedInHosted = () => sessionStorage.getItem(VIA) === "hosted";

export function rememberHosted(hosted) {
  if (hosted) sessionStorage.setItem(VIA, "hosted");
  else sessionStorage.removeItem(VIA);
}

export function leaveNotice(key) {
  sessionStorage.setItem(NOTICE, key);
}

export function takeNotice() {
  const key = sessionStorage.getItem(NOTICE);
  sessionStorage.removeItem(NOTICE);
  return key;
}
