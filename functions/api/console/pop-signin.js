// How a POP account's preset signs in, for the account page: the form's plan (password, app
// password, the provider's sign-in or a choice of them), the sign-in area and its window.
import { clear, field, h, nextId } from "./dom.js";
import { t } from "./i18n.js";
import { finishedSignin, forProvider, openSignin } from "./oauth-window.js";

/**
 * How a preset signs in, for the form: the password field's label (null: no password is
 * asked for) and whether the form can be saved. The provider's own rules are in the preset's
 * `signin` (preferred first); `oauth_available` says whether this service can offer the
 * provider's sign-in. `choices` (or null) are the ways the user may pick between, and
 * `choice` is the one picked ("oauth" or "app_password"; the first where none is).
 */
export function signinPlan(preset, choice) {
  const methods = preset?.signin?.length ? preset.signin : ["password"];
  const [first] = methods;
  if (first === "password") return { method: "password", passwordKey: "pop.password", canSave: true, choices: null };
  if (first === "app_password") return { method: "app_password", passwordKey: "pop.app_password", canSave: true, choices: null };
  // oauth first: offered where this service has the provider's app registration, with an
  // app password as the user's other choice if the provider takes one (Gmail: an account
  // or a Workspace admin may rule the sign-in out); else that app password, else nothing
  // (Outlook.com). A sign-in saves nothing by itself yet: the form is saved once
  // signinArea's sign-in has been done.
  const appPassword = methods.includes("app_password");
  if (preset.oauth_available) {
    const choices = appPassword ? ["oauth", "app_password"] : null;
    if (choices && choice === "app_password") return { method: "app_password_chosen", passwordKey: "pop.app_password", canSave: true, choices };
    return { method: "oauth", passwordKey: null, canSave: false, choices };
  }
  if (appPassword) return { method: "app_password_instead", passwordKey: "pop.app_password", canSave: true, choices: null };
  return { method: "oauth_unavailable", passwordKey: null, canSave: false, choices: null };
}

export function helpLink(url, key, params) {
  // The provider's own page, in a new tab; only an https address from the API is linked.
  if (typeof url !== "string" || !url.startsWith("https://")) return null;
  return h("a", { href: url, target: "_blank", rel: "noopener" }, t(key, params));
}

/** The provider's name in words ("Microsoft"); "" for a preset without a sign-in. */
export function providerName(preset) {
  return preset?.oauth_provider ? t(`pop.provider_${preset.oauth_provider}`) : "";
}

/**
 * An error of the sign-in or of registering with it, in catalogue words only: the server's
 * and the callback page's own messages are English, so they are not shown.
 */
export function inWords(e, provider) {
  const code = forProvider(e, provider)?.code || "";
  // POST /v1/accounts: another of the user's accounts already fetches with this sign-in.
  if (code === "signin_in_use") return t("pop.signin_in_use");
  return t(`error.${code}`, {}, null) || t("pop.error_other", { code: code || "?" });
}

// ---------------------------------------------------------------- the provider's sign-in
/** Sign in with `provider` (the preset's `oauth_provider`) for a POP account as `email`. */
export function beginSignin(page, email, provider, report) {
  return openSignin(page, { windowName: "mailport-pop-signin", email, purpose: "pop", provider }, report);
}

/** The callback page reported: how the sign-in went. */
export function signinFinished(page, ev) {
  const done = finishedSignin(page, ev);
  if (!done) return;
  const { flow, data } = done;
  if (data.status === "ready" && data.connection?.id) flow.report.ready(data.connection);
  else flow.report.error({ code: String(data.code || "") });
}

/**
 * What the form says about signing in to the chosen preset, under the password field (null:
 * nothing to say). Where the provider's sign-in is available ("oauth"): the address, a
 * "Sign in with …" button and how it went; `form.ready(connection)` / `form.reset()` tell the
 * form whether a sign-in is there to register with. An account that already signs in says as
 * whom (`form.account`).
 */
export function signinArea(page, preset, form = {}) {
  const plan = signinPlan(preset, form.choice);
  const provider = providerName(preset);
  const params = { service: preset?.label ?? "", provider };
  const url = preset?.help_url;
  switch (plan.method) {
    case "app_password":
      return h("p", { class: "hint" }, t("pop.app_password_only", params), " ", helpLink(url, "pop.app_password_link"));
    case "app_password_instead":
      return h("p", { class: "hint" }, t("pop.app_password_instead", params), " ", helpLink(url, "pop.app_password_link"));
    case "app_password_chosen":
      return h("p", { class: "hint" }, t("pop.app_password_choice", params), " ", helpLink(url, "pop.app_password_link"));
    case "oauth":
      return oauthArea(page, preset, params, form, plan);
    case "oauth_unavailable":
      return h("p", { class: "notice" }, t("pop.oauth_unavailable", params));
    default:
      return null;
  }
}

export function oauthArea(page, preset, params, form, plan) {
  // A provider that takes its sign-in only says so, with its page on turning POP on; one that
  // takes an app password too (its help_url is the page on making one) says why to sign in.
  const hint = plan.choices
    ? h("p", { class: "hint" }, t("pop.signin_preferred", params))
    : h("p", { class: "hint" }, t("pop.oauth_only", params), " ", helpLink(preset?.help_url, "pop.pop_help_link", params));
  const provider = preset?.oauth_provider;
  if (form.account?.connection_id) {
    const as = h("p", { class: "muted" }, t("pop.login_signin_as", { ...params, email: form.account.username }));
    return plan.choices ? as : [hint, as];
  }
  const email = h("input", { type: "email", required: true, autocomplete: "email", id: nextId("signin-email") });
  const button = h("button", { type: "button", class: "signin-button" }, t("pop.signin_with", params));
  const status = h("div", { "aria-live": "polite", class: "signin-status" });
  email.addEventListener("input", () => {
    form.reset?.();
    clear(status);
  });
  const signIn = () => {
    if (!email.reportValidity()) return;
    const address = email.value.trim();
    form.reset?.();
    clear(status, h("p", { class: "muted" }, t("oauth.signing_in")));
    beginSignin(page, address, provider, {
      ready: (connection) => {
        clear(status, h("p", { class: "ok", id: "signed-in", tabindex: -1 }, t("pop.signed_in_as", { email: connection.email })));
        form.ready?.(connection);
      },
      error: (e) => {
        clear(status, h("p", { class: "error", role: "alert" }, inWords(e, provider)));
        button.focus();
      },
    });
  };
  button.addEventListener("click", signIn);
  // Enter in the address signs in rather than submitting a form that can't be saved yet.
  email.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      signIn();
    }
  });
  return h(
    "div",
    { class: "oauth" },
    hint,
    field(`pop.signin_email_${provider}`, email, "pop.signin_email_hint"),
    h("div", { class: "actions" }, button),
    status,
  );
}

/**
 * The choice between the provider's sign-in (first: no password is kept) and an app
 * password, as two radio buttons; `onChoose("oauth" | "app_password")` when one is picked.
 */
export function signinChoice(preset, chosen, onChoose) {
  const params = { provider: providerName(preset) };
  const name = nextId("signin-choice");
  const option = (value, key) => {
    const input = h("input", { type: "radio", name, value, id: nextId("signin-choice"), checked: value === chosen });
    input.addEventListener("change", () => {
      if (input.checked) onChoose(value);
    });
    return h("div", { class: "check" }, input, h("label", { for: input.id }, t(key, params)));
  };
  return h(
    "fieldset",
    { class: "choices signin-choice" },
    h("legend", {}, t("pop.signin_choice")),
    option("oauth", "pop.choice_signin"),
    option("app_password", "pop.choice_app_password"),
  );
}
