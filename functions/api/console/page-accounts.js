// External mail (POP3): up to 10 accounts, their status, the register/edit form, fetch now, runs.
import * as api from "./api.js";
import { checkbox, clear, describe, errorBox, field, h, nextId, toast, when } from "./dom.js";
import { t } from "./i18n.js";
import { folderLabel, folderOptions } from "./page-mailbox.js";
import { planGate } from "./plan.js";
import { beginSignin, inWords, providerName, signinArea, signinChoice, signinFinished, signinPlan } from "./pop-signin.js";

const MAX_ACCOUNTS = 10;
const ICONS = ["none", "red", "orange", "yellow", "green", "blue", "purple", "gray"];
const POLL_MS = 1000;

export async function accountsPage(main, ctx) {
  let presets;
  try {
    ({ presets } = await api.get("/v1/account-presets"));
  } catch (e) {
    if (planGate(main, e, ctx.me, "nav.accounts")) return null;
    throw e;
  }
  const { folders } = await api.get("/v1/folders");
  const listArea = h("div", { "aria-live": "polite" });
  const formArea = h("div");
  const historyArea = h("div");
  const addButton = h("button", { type: "button", id: "add-account" }, t("pop.add"));
  const timers = new Set();
  const page = { presets, folders, listArea, formArea, historyArea, addButton, timers, refresh: null, flow: null };
  page.refresh = () => refreshList(page);
  const onMessage = (ev) => signinFinished(page, ev);
  window.addEventListener("message", onMessage);
  addButton.addEventListener("click", () => showForm(page, null));
  clear(
    main,
    h("h1", { tabindex: -1 }, t("pop.title")),
    h("p", {}, t("pop.intro", { max: MAX_ACCOUNTS })),
    addButton,
    formArea,
    listArea,
    historyArea,
  );
  await page.refresh();
  return () => {
    page.flow = null; // its window watch stops on its next tick
    window.removeEventListener("message", onMessage);
    timers.forEach((id) => clearTimeout(id));
  };
}

async function refreshList(page) {
  const { accounts } = await api.get("/v1/accounts");
  page.addButton.disabled = accounts.length >= MAX_ACCOUNTS;
  page.addButton.title = page.addButton.disabled ? t("pop.limit_reached", { max: MAX_ACCOUNTS }) : "";
  if (!accounts.length) {
    clear(page.listArea, h("p", { class: "muted" }, t("pop.none")));
    return;
  }
  clear(
    page.listArea,
    h("h2", {}, t("pop.accounts", { n: accounts.length, max: MAX_ACCOUNTS })),
    h("ul", { class: "cards" }, accounts.map((a) => h("li", {}, accountCard(page, a)))),
  );
}

function statusText(status) {
  if (status.state === "running") return t("pop.state_running");
  if (status.paused_for === "signin") return t("pop.state_paused_signin");
  if (status.state === "off") return t("pop.state_off");
  return t("pop.state_idle");
}

function accountCard(page, account) {
  const s = account.status || {};
  const folder = page.folders.find((f) => f.id === account.folder_id);
  const preset = page.presets.find((p) => p.id === account.preset);
  const provider = providerName(preset);
  const paused = s.paused_for === "signin";
  const rows = [
    ["pop.status", statusText(s)],
    // Without a sign-in, an account of a preset that offers both ways uses its app password.
    ["pop.login", account.connection_id ? t("pop.login_signin", { provider }) : t(signinPlan(preset, "app_password").passwordKey || "pop.password")],
    ["pop.last_run", s.last_checked_at ? `${when(s.last_checked_at)} — ${s.last_status ? t(`run.${s.last_status}`) : ""}` : t("common.never")],
    ["pop.next_run", account.auto_fetch ? (s.next_run_at ? when(s.next_run_at) : t("pop.next_soon")) : t("pop.auto_off")],
    ["pop.failures", String(s.failures_in_a_row ?? 0)],
    ["pop.folder", folder ? folderLabel(folder) : account.folder_id],
  ];
  // Paused for a sign-in: said in the user's words (the server's reason is English), and
  // the last error says the same again.
  if (paused) rows.push(["pop.disabled_reason", t("pop.paused_signin_reason", { provider })]);
  else if (s.disabled_reason) rows.push(["pop.disabled_reason", s.disabled_reason]);
  if (s.last_error && !paused) rows.push(["pop.last_error", describe(s.last_error)]);
  const title = `${account.username} @ ${account.host}:${account.port}`;
  const fetchButton = h("button", { type: "button", disabled: s.state === "running" }, t("pop.fetch_now"));
  fetchButton.addEventListener("click", () => fetchNow(page, account, fetchButton));
  const cardStatus = h("div", { "aria-live": "polite", class: "account-status" });
  const againButton = paused
    ? h("button", { type: "button", class: "signin-again", "aria-label": t("oauth.signin_again_for", { email: account.username }) }, t("oauth.signin_again"))
    : null;
  againButton?.addEventListener("click", () => {
    clear(cardStatus, h("p", { class: "muted" }, t("oauth.signing_in")));
    // The server resumes the account once the sign-in is done: the list is drawn again.
    beginSignin(page, account.username, preset?.oauth_provider, {
      ready: () => { toast(t("pop.resumed")); page.refresh(); },
      error: (e) => {
        clear(cardStatus, h("p", { class: "error", role: "alert" }, inWords(e, preset?.oauth_provider)));
        againButton.focus();
      },
    });
  });
  return h(
    "article",
    { class: "card account", "data-account": account.id, "aria-label": title },
    h("h3", {}, h("span", { class: `dot icon-${account.icon}`, "aria-hidden": "true" }), title),
    h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, t(k)), h("dd", { "data-fact": k }, v)])),
    h(
      "div",
      { class: "actions" },
      againButton,
      fetchButton,
      h("button", { type: "button", class: "secondary", onclick: () => showForm(page, account) }, t("common.edit")),
      h("button", { type: "button", class: "secondary", onclick: () => showHistory(page, account) }, t("pop.history")),
      h("button", { type: "button", class: "danger", onclick: () => remove(page, account) }, t("common.delete")),
    ),
    cardStatus,
  );
}

async function fetchNow(page, account, button) {
  button.disabled = true;
  try {
    const run = await api.post(`/v1/accounts/${encodeURIComponent(account.id)}/fetch`);
    toast(t("pop.fetch_started"));
    const poll = async () => {
      page.timers.clear();
      const { runs } = await api.get(`/v1/accounts/${encodeURIComponent(account.id)}/runs?limit=20`);
      const mine = runs.find((r) => r.id === run.id);
      if (mine && mine.status !== "running") {
        toast(mine.status === "succeeded" ? t("pop.fetch_done", { n: mine.fetched }) : t("pop.fetch_failed", { why: runError(page, account, mine.error) }));
        await page.refresh();
        if (page.historyArea.dataset.account === account.id) await showHistory(page, account);
        return;
      }
      page.timers.add(setTimeout(poll, POLL_MS));
    };
    await poll();
  } catch (e) {
    toast(describe(e));
    button.disabled = false;
  }
}

function presetOf(page, id) {
  return page.presets.find((p) => p.id === id);
}

/** Why a run failed; a sign-in that stopped working in catalogue words (the server's are English). */
function runError(page, account, error) {
  if (error?.code !== "signin_required") return describe(error);
  return t("pop.paused_signin_reason", { provider: providerName(presetOf(page, account.preset)) });
}

async function remove(page, account) {
  if (!window.confirm(t("pop.confirm_delete", { name: account.username }))) return;
  try {
    await api.del(`/v1/accounts/${encodeURIComponent(account.id)}`);
    toast(t("pop.deleted"));
    clear(page.historyArea);
    await page.refresh();
  } catch (e) {
    toast(describe(e));
  }
}

async function showHistory(page, account) {
  const { runs } = await api.get(`/v1/accounts/${encodeURIComponent(account.id)}/runs?limit=50`);
  page.historyArea.dataset.account = account.id;
  const heading = h("h2", { tabindex: -1 }, t("pop.history_of", { name: account.username }));
  const cols = ["run.started", "run.trigger", "run.status", "run.fetched", "run.already_present", "run.skipped_oversize", "run.rejected", "run.deleted", "run.error"];
  clear(
    page.historyArea,
    heading,
    runs.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "runs" },
            h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(c))))),
            h(
              "tbody",
              {},
              runs.map((r) =>
                h(
                  "tr",
                  { "data-run": r.id },
                  h("td", {}, when(r.started_at)),
                  h("td", {}, t(`trigger.${r.trigger}`)),
                  h("td", {}, t(`run.${r.status}`)),
                  h("td", {}, String(r.fetched)),
                  h("td", {}, String(r.already_present)),
                  h("td", {}, String(r.skipped_oversize)),
                  h("td", {}, String(r.rejected)),
                  h("td", {}, String(r.deleted)),
                  h("td", {}, r.error ? runError(page, account, r.error) : ""),
                ),
              ),
            ),
          ),
        )
      : h("p", { class: "muted" }, t("pop.no_runs")),
  );
  heading.focus();
}

function showForm(page, account) {
  const editing = Boolean(account);
  const signsIn = Boolean(account?.connection_id); // a saved account that signs in
  const preset = h("select", { disabled: signsIn }, page.presets.map((p) => h("option", { value: p.id, selected: account?.preset === p.id }, p.id === "manual" ? t("pop.preset_manual") : p.label)));
  const username = h("input", { type: "text", required: true, autocomplete: "off", value: account?.username || "", readOnly: signsIn });
  const password = h("input", { type: "password", required: !editing, autocomplete: "new-password" });
  const host = h("input", { type: "text", required: true, value: account?.host || "" });
  const port = h("input", { type: "number", min: 1, max: 65535, required: true, value: account?.port ?? "" });
  const ssl = checkbox("pop.ssl", account ? account.ssl : true);
  const sslInput = ssl.querySelector("input");
  const folder = h("select", {}, folderOptions(page.folders, account?.folder_id || "inbox"));
  const icon = h("select", {}, ICONS.map((i) => h("option", { value: i, selected: (account?.icon || "none") === i }, t(`icon.${i}`))));
  const keep = checkbox("pop.keep_original", account ? account.keep_original : true);
  const rules = checkbox("pop.apply_rules", account ? account.apply_rules : false);
  const auto = checkbox("pop.auto_fetch", account ? account.auto_fetch : true);
  const agreed = checkbox("pop.agreement", false, { required: !editing });
  const agreementText = h("p", {});
  const status = h("div", { "aria-live": "polite" });
  const usernameField = field("pop.username", username);
  const passwordField = field("pop.password", password, editing ? "pop.password_keep" : null);
  const passwordLabel = passwordField.querySelector("label");
  const signin = h("div", { id: nextId("signin"), class: "signin-area", "aria-live": "polite" });
  const choiceArea = h("div", { class: "signin-choice-area" }); // sign in, or an app password
  password.setAttribute("aria-describedby", [password.getAttribute("aria-describedby"), signin.id].filter(Boolean).join(" "));
  const submitButton = h("button", { type: "submit" }, editing ? t("common.save") : t("pop.register"));
  let plan = signinPlan(null);
  let choice = null; // how the user chose to sign in, where the preset offers a choice
  let connection = null; // the sign-in made in this form, to register (or switch) the account with
  let shown = 0; // which drawing of the sign-in area is on screen

  const sync = () => {
    // A saved account keeps its settings editable (icon, folder, automatic fetching).
    submitButton.disabled = !editing && !(plan.canSave || connection);
  };
  const applyPreset = () => {
    const p = page.presets.find((x) => x.id === preset.value);
    const manual = preset.value === "manual";
    if (p && !manual && !signsIn) {
      host.value = p.host;
      port.value = p.port;
      sslInput.checked = p.ssl;
    }
    host.readOnly = !manual;
    port.readOnly = !manual;
    sslInput.disabled = !manual;
    // Both ways offered: the sign-in first, unless the account being edited has a password.
    choice = account && !signsIn && account.preset === preset.value ? "app_password" : "oauth";
    const choices = signsIn ? null : signinPlan(p, choice).choices;
    clear(choiceArea, choices ? signinChoice(p, choice, (c) => { choice = c; applyPlan(p); }) : null);
    applyPlan(p);
  };
  const applyPlan = (p) => {
    // The password field asks for what the provider takes; none where it takes a sign-in only.
    plan = signinPlan(p, choice);
    connection = null;
    passwordLabel.textContent = t(plan.passwordKey || "pop.password");
    passwordField.hidden = !plan.passwordKey || signsIn;
    password.required = !editing && Boolean(plan.passwordKey);
    // A sign-in names the mailbox itself (its own address field): no user name to type.
    usernameField.hidden = !plan.passwordKey && !signsIn;
    username.required = !usernameField.hidden && !signsIn;
    const provider = providerName(p);
    agreementText.textContent = plan.passwordKey ? t("pop.agreement_text") : t("pop.agreement_text_signin", { provider });
    sync();
    // A sign-in started before the user switched preset or way reports to nothing.
    const mine = ++shown;
    const signedIn = (c) => {
      if (mine !== shown) return;
      connection = c;
      sync();
    };
    clear(signin, signinArea(page, p, { account, choice, ready: signedIn, reset: () => signedIn(null) }));
  };
  preset.addEventListener("change", applyPreset);
  applyPreset();

  const submit = async (ev) => {
    ev.preventDefault();
    if (submitButton.disabled) return;
    clear(status, h("p", { class: "muted" }, t("pop.checking_login")));
    const data = {
      preset: preset.value,
      username: username.value.trim(),
      folder_id: folder.value,
      icon: icon.value,
      keep_original: keep.querySelector("input").checked,
      apply_rules: rules.querySelector("input").checked,
      auto_fetch: auto.querySelector("input").checked,
    };
    if (preset.value === "manual") Object.assign(data, { host: host.value.trim(), port: Number(port.value), ssl: sslInput.checked });
    if (password.value && !passwordField.hidden) data.password = password.value;
    // The sign-in's mailbox and the provider's server are the server's to set.
    if (connection) {
      data.connection_id = connection.id;
      delete data.username;
    }
    if (signsIn) delete data.username;
    if (!editing) data.agreed = agreed.querySelector("input").checked;
    try {
      if (editing) {
        for (const k of ["preset", "host", "port", "ssl", "username"]) if (k in data && data[k] === account[k]) delete data[k];
        await api.patch(`/v1/accounts/${encodeURIComponent(account.id)}`, data);
      } else {
        await api.post("/v1/accounts", data);
      }
      clear(page.formArea);
      toast(editing ? t("pop.saved") : t("pop.registered"));
      await page.refresh();
      page.addButton.focus();
    } catch (e) {
      clear(status, connection || signsIn ? h("p", { class: "error", role: "alert" }, inWords(e, presetOf(page, preset.value)?.oauth_provider)) : errorBox(e));
    }
  };
  const heading = h("h2", { tabindex: -1 }, editing ? t("pop.edit_title", { name: account.username }) : t("pop.add_title"));
  clear(
    page.formArea,
    h(
      "form",
      { class: "card form", id: "account-form", onsubmit: submit },
      heading,
      field("pop.preset", preset),
      choiceArea,
      usernameField,
      passwordField,
      signin,
      h("div", { class: "row3" }, field("pop.host", host), field("pop.port", port), ssl),
      field("pop.folder", folder),
      field("pop.icon", icon),
      keep,
      rules,
      auto,
      editing ? null : h("div", { class: "agreement" }, agreementText, agreed),
      h(
        "div",
        { class: "actions" },
        submitButton,
        h("button", { type: "button", class: "secondary", onclick: () => { clear(page.formArea); page.addButton.focus(); } }, t("common.cancel")),
      ),
      status,
    ),
  );
  heading.focus();
}
