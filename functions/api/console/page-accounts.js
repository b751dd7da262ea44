// External mail (POP3): up to 10 accounts, their status, the register/edit form, fetch now, runs.
import * as api from "./api.js";
import { checkbox, clear, describe, errorBox, field, h, toast, when } from "./dom.js";
import { t } from "./i18n.js";
import { folderLabel, folderOptions } from "./page-mailbox.js";
import { planGate } from "./plan.js";

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
  const page = { presets, folders, listArea, formArea, historyArea, addButton, timers, refresh: null };
  page.refresh = () => refreshList(page);
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
  return () => timers.forEach((id) => clearTimeout(id));
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
  if (status.state === "off") return t("pop.state_off");
  return t("pop.state_idle");
}

function accountCard(page, account) {
  const s = account.status || {};
  const folder = page.folders.find((f) => f.id === account.folder_id);
  const rows = [
    ["pop.status", statusText(s)],
    ["pop.last_run", s.last_checked_at ? `${when(s.last_checked_at)} — ${s.last_status ? t(`run.${s.last_status}`) : ""}` : t("common.never")],
    ["pop.next_run", account.auto_fetch ? (s.next_run_at ? when(s.next_run_at) : t("pop.next_soon")) : t("pop.auto_off")],
    ["pop.failures", String(s.failures_in_a_row ?? 0)],
    ["pop.folder", folder ? folderLabel(folder) : account.folder_id],
  ];
  if (s.disabled_reason) rows.push(["pop.disabled_reason", s.disabled_reason]);
  if (s.last_error) rows.push(["pop.last_error", describe(s.last_error)]);
  const title = `${account.username} @ ${account.host}:${account.port}`;
  const fetchButton = h("button", { type: "button", disabled: s.state === "running" }, t("pop.fetch_now"));
  fetchButton.addEventListener("click", () => fetchNow(page, account, fetchButton));
  return h(
    "article",
    { class: "card account", "data-account": account.id, "aria-label": title },
    h("h3", {}, h("span", { class: `dot icon-${account.icon}`, "aria-hidden": "true" }), title),
    h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, t(k)), h("dd", { "data-fact": k }, v)])),
    h(
      "div",
      { class: "actions" },
      fetchButton,
      h("button", { type: "button", class: "secondary", onclick: () => showForm(page, account) }, t("common.edit")),
      h("button", { type: "button", class: "secondary", onclick: () => showHistory(page, account) }, t("pop.history")),
      h("button", { type: "button", class: "danger", onclick: () => remove(page, account) }, t("common.delete")),
    ),
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
        toast(mine.status === "succeeded" ? t("pop.fetch_done", { n: mine.fetched }) : t("pop.fetch_failed", { why: describe(mine.error) }));
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
                  h("td", {}, r.error ? describe(r.error) : ""),
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
  const preset = h("select", {}, page.presets.map((p) => h("option", { value: p.id, selected: account?.preset === p.id }, p.id === "manual" ? t("pop.preset_manual") : p.label)));
  const username = h("input", { type: "text", required: true, autocomplete: "off", value: account?.username || "" });
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
  const status = h("div", { "aria-live": "polite" });

  const applyPreset = () => {
    const p = page.presets.find((x) => x.id === preset.value);
    const manual = preset.value === "manual";
    if (p && !manual) {
      host.value = p.host;
      port.value = p.port;
      sslInput.checked = p.ssl;
    }
    host.readOnly = !manual;
    port.readOnly = !manual;
    sslInput.disabled = !manual;
  };
  preset.addEventListener("change", applyPreset);
  applyPreset();

  const submit = async (ev) => {
    ev.preventDefault();
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
    if (password.value) data.password = password.value;
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
      clear(status, errorBox(e));
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
      field("pop.username", username),
      field("pop.password", password, editing ? "pop.password_keep" : null),
      h("div", { class: "row3" }, field("pop.host", host), field("pop.port", port), ssl),
      field("pop.folder", folder),
      field("pop.icon", icon),
      keep,
      rules,
      auto,
      editing ? null : h("div", { class: "agreement" }, h("p", {}, t("pop.agreement_text")), agreed),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit" }, editing ? t("common.save") : t("pop.register")),
        h("button", { type: "button", class: "secondary", onclick: () => { clear(page.formArea); page.addButton.focus(); } }, t("common.cancel")),
      ),
      status,
    ),
  );
  heading.focus();
}
