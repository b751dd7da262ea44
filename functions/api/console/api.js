// The REST API, same origin: the console is served at <api>/console/, so the API is "../".
// Every request says the console's language (Accept-Language): the server writes its own
// words (a report's reasons, say) in it.
import { lang } from "./i18n.js";

const BASE = new URL("../", window.location.href);
const TOKEN = "mailport.token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let onUnauthenticated = () => {};
export function whenSignedOut(callback) {
  onUnauthenticated = callback;
}

export function token() {
  return sessionStorage.getItem(TOKEN);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN, value);
  else sessionStorage.removeItem(TOKEN);
}

export function url(path) {
  return new URL(path.replace(/^\//, ""), BASE).href;
}

async function send(method, path, body, accept = "application/json") {
  const headers = { Accept: accept, "Accept-Language": lang() };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, "network", e.message);
  }
  if (!response.ok) {
    let code = `http_${response.status}`;
    let message = response.statusText;
    try {
      const data = await response.json();
      code = data.error?.code || code;
      message = data.error?.message || message;
    } catch {
      // not JSON: keep the HTTP status
    }
    if (response.status === 401 && path !== "/v1/local/login") onUnauthenticated();
    throw new ApiError(response.status, code, message);
  }
  return response;
}

export async function api(method, path, body) {
  const response = await send(method, path, body);
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body ?? {});
export const patch = (path, body) => api("PATCH", path, body);
export const put = (path, body) => api("PUT", path, body);
export const del = (path) => api("DELETE", path);

/** The answer itself (a CSV page, its Link header), for `accept` other than JSON. */
export const response = (path, accept) => send("GET", path, undefined, accept);

export async function raw(path) {
  const response = await send("GET", path, undefined, "message/rfc822");
  return new Uint8Array(await response.arrayBuffer());
}

/** Is the local stack's sign-in there? (Only the local gateway has POST /v1/local/login.) */
export async function localLoginAvailable() {
  try {
    const response = await fetch(url("/v1/local/login"), { method: "POST", body: "{}" });
    return response.status === 400;
  } catch {
    return false;
  }
}

export async function localLogin(email, tenant, admin = false) {
  const data = await api("POST", "/v1/local/login", { email, tenant, admin });
  setToken(data.token);
}

// ---- Microsoft or Google sign-in (the start sets an HttpOnly cookie: a same-origin fetch keeps it)
/** Start a sign-in with `provider` ("microsoft" | "google") as `email` for `purpose` ("imap" | "pop"). */
export const startSignin = (provider, email, purpose = "imap") =>
  post(`/v1/oauth/${encodeURIComponent(provider)}/start`, { email, purpose });
export const oauthConnections = async () => (await get("/v1/oauth/connections")).connections;
export const removeOauthConnection = (id) => del(`/v1/oauth/connections/${encodeURIComponent(id)}`);

// ---- Admin: the whole organisation, a page at a time (next_cursor)
function paged(path, cursor, limit = 50) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set("cursor", cursor);
  return get(`${path}?${query}`);
}
export const adminMigrations = (cursor) => paged("/v1/admin/migrations", cursor);
export const adminAccounts = (cursor) => paged("/v1/admin/accounts", cursor);
export const adminSwitchOff = (userId, accountId) =>
  post(`/v1/admin/users/${encodeURIComponent(userId)}/accounts/${encodeURIComponent(accountId)}/switch-off`);
export const adminCancelMigration = (userId, jobId) =>
  post(`/v1/admin/users/${encodeURIComponent(userId)}/migrations/${encodeURIComponent(jobId)}/cancel`);

/** The local stack's metrics (admins); null where the route doesn't exist (a deployed stack). */
export async function localMetrics() {
  try {
    return (await get("/v1/local/metrics")).metrics;
  } catch (e) {
    if (e.status === 404 || e.status === 403) return null;
    throw e;
  }
}
