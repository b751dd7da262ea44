// The provider's sign-in in a window of its own, for the migration page and the account
// page alike: opened inside the click (a window opened after an await may be blocked), sent
// to the provider once the API has started the flow (its HttpOnly cookie binds the flow to
// this browser), watched until the API's callback page reports back by postMessage.
import * as api from "./api.js";
import { t } from "./i18n.js";

/**
 * Sign in with `provider` ("microsoft" or "google") as `email` for `purpose` ("imap": a
 * migration, "pop": an external account) in the window named `windowName`;
 * `report.ready(connection)` / `report.error(err)` say how it went. `page.flow` is the sign-in
 * under way: a newer one replaces it (the same named window).
 */
export async function openSignin(page, { windowName, email, purpose, provider = "microsoft" }, report) {
  const win = window.open("", windowName, "popup,width=520,height=700");
  if (!win) {
    report.error({ code: "popup_blocked" });
    return;
  }
  const flow = { email, win, report };
  page.flow = flow;
  try {
    const { authorize_url: authorizeUrl } = await api.startSignin(provider, email, purpose);
    if (page.flow !== flow) return;
    win.location.href = authorizeUrl;
  } catch (e) {
    if (page.flow === flow) page.flow = null;
    win.close();
    report.error(e);
    return;
  }
  // Closed before the callback page reported: say so rather than wait for ever.
  const watch = setInterval(() => {
    if (page.flow !== flow) clearInterval(watch);
    else if (win.closed) {
      clearInterval(watch);
      page.flow = null;
      report.error({ code: "signin_window_closed" });
    }
  }, 1000);
}

/**
 * The callback page's message, if it is one for the sign-in under way: only from this
 * origin, of our type, from the window we opened. Returns `{ flow, data }` (the flow is then
 * over) or null.
 */
export function finishedSignin(page, ev) {
  if (ev.origin !== window.location.origin) return null;
  const data = ev.data;
  if (!data || typeof data !== "object" || data.type !== "mailport-oauth") return null;
  const flow = page.flow;
  if (!flow || ev.source !== flow.win) return null;
  page.flow = null;
  return { flow, data };
}

/**
 * The error as the catalogue words it for `provider`: some codes name the provider
 * ("declined at Microsoft"), so a Google sign-in's error takes its own text
 * (`error.<code>_google`) where the catalogue has one. Returns the error with that code.
 */
export function forProvider(err, provider) {
  const code = err?.code;
  if (!code || !provider || t(`error.${code}_${provider}`, {}, null) === null) return err;
  // An ApiError's message is not an own enumerable property: copied by name.
  return { status: err.status, message: err.message, code: `${code}_${provider}` };
}
