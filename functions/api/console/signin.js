// Hosted sign-in on a deployed stack: Amazon Cognito's hosted UI, OAuth 2.0 authorization
// code with PKCE (S256) and `state`, as a public client (no secret). GET /v1/auth/config says
// where it is; it answers 404 where there is none (the local stack signs in its demo users).
import { url } from "./api.js";
import { clear, h } from "./dom.js";
import { t } from "./i18n.js";

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

// The local stack's demo mail server (`make run`): GET /v1/local/demo-mail says where it is and
// who its users are; POST /v1/local/demo-mail/drop delivers new mail. Both are local-only: a
// deployed stack answers 404, and then nothing is shown.

/** The demo mail server's details, or null where there is none. */
export async function demoMail() {
  try {
    const response = await fetch(url("/v1/local/demo-mail"), { headers: { Accept: "application/json" } });
    if (!response.ok) return null;
    const info = await response.json();
    return info && info.host && Array.isArray(info.users) ? info : null;
  } catch {
    return null;
  }
}

/** New mail for a demo user; the subjects delivered. */
export async function dropDemoMail(user) {
  const response = await fetch(url("/v1/local/demo-mail/drop"), {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ user, count: 1 }),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error?.message || `HTTP ${response.status}`);
  return data.dropped || [];
}

/** A card with the servers, the users and a button per user that drops new mail in. */
export function demoMailCard(info) {
  const status = h("p", { class: "hint", "aria-live": "polite" });
  const row = (key, value) => h("tr", {}, h("th", { scope: "row" }, t(key)), h("td", {}, String(value)));
  const users = info.users.map((u) =>
    h(
      "tr",
      {},
      h("td", {}, h("code", {}, u.username)),
      h("td", {}, h("code", {}, u.password)),
      h("td", {}, u.display_name),
      h(
        "td",
        {},
        h(
          "button",
          {
            type: "button",
            class: "link demo-drop",
            "data-user": u.username,
            "aria-label": t("demo.drop_for", { user: u.username }),
            onclick: async () => {
              clear(status, t("demo.dropping"));
              try {
                const subjects = await dropDemoMail(u.username);
                clear(status, t("demo.dropped", { user: u.username, subject: subjects.join(", ") }));
              } catch (e) {
                clear(status, t("demo.drop_failed", { message: e.message }));
              }
            },
          },
          t("demo.drop"),
        ),
      ),
    ),
  );
  return h(
    "section",
    { class: "card narrow", id: "demo-mail", "aria-labelledby": "demo-mail-title" },
    h("h2", { id: "demo-mail-title" }, t("demo.title")),
    h("p", {}, t("demo.intro")),
    h(
      "table",
      { class: "demo-servers" },
      h(
        "tbody",
        {},
        row("demo.host", info.host),
        row("demo.pop3_port", info.pop3.port),
        row("demo.imap_port", info.imap.port),
        row("demo.ssl", info.pop3.ssl ? t("demo.ssl_on") : t("demo.ssl_off")),
        row("demo.ca", info.ca_trusted ? t("demo.ca_trusted") : t("demo.ca_not_trusted")),
      ),
    ),
    h(
      "table",
      { class: "demo-mail-users" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, t("demo.username")),
          h("th", { scope: "col" }, t("demo.password")),
          h("th", { scope: "col" }, t("demo.name")),
          h("th", { scope: "col" }, h("span", { class: "sr-only" }, t("demo.drop"))),
        ),
      ),
      h("tbody", {}, users),
    ),
    h("p", { class: "hint" }, t("demo.large", { user: info.large_message?.username || "taro" })),
    h("p", { class: "hint" }, t("demo.drop_hint"), " ", h("code", {}, info.drop_command || "")),
    info.microsoft ? microsoftPart(info.microsoft) : null,
    status,
  );
}

/** The Microsoft 365 demo's mailboxes (`make run ARGS=--demo-microsoft`), when it runs. */
function microsoftPart(microsoft) {
  const rows = (microsoft.mailboxes || []).map((m) =>
    h("tr", {}, h("td", {}, m.address), h("td", {}, m.display_name || "")),
  );
  return h(
    "div",
    { class: "demo-microsoft" },
    h("h3", { id: "demo-microsoft-title" }, t("demo.microsoft_title")),
    h("p", {}, t("demo.microsoft_intro")),
    h(
      "table",
      { class: "demo-microsoft-mailboxes", "aria-labelledby": "demo-microsoft-title" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("demo.microsoft_address")), h("th", { scope: "col" }, t("demo.name")))),
      h("tbody", {}, rows),
    ),
  );
}

// app.js renders the local sign-in page (its list of demo users); the card goes after that
// page's section when it appears, and again each time the page is drawn anew.
let demoInfo = null;
function watchSignInPage() {
  const main = document.getElementById("main");
  if (!main || typeof MutationObserver === "undefined") return;
  const place = async () => {
    const list = main.querySelector("ul.demo-users");
    const section = list?.closest("section");
    if (!section || section.dataset.demoMail) return;
    section.dataset.demoMail = "asked";
    demoInfo ??= demoMail();
    const info = await demoInfo;
    if (info && section.isConnected && !document.getElementById("demo-mail")) section.after(demoMailCard(info));
  };
  new MutationObserver(() => place()).observe(main, { childList: true });
}
watchSignInPage();
