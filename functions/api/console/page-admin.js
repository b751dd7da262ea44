// Admin: the organisation's migrations and POP accounts (a page at a time, with cancel and
// "switch automatic fetching off"), and the tenant's IMAP server templates (name, host, port, SSL).
import * as api from "./api.js";
import { checkbox, clear, describe, errorBox, field, h, progress, toast, when } from "./dom.js";
import { stateKey, t } from "./i18n.js";
import { planGate } from "./plan.js";

const CANCELLABLE = new Set(["queued", "running", "paused", "needs_signin"]);

export async function adminPage(main, ctx) {
  let templates;
  try {
    ({ templates } = await api.get("/v1/imap-templates"));
  } catch (e) {
    if (planGate(main, e, ctx.me, "nav.admin")) return;
    throw e;
  }
  const formArea = h("div");
  const rerender = () => adminPage(main, ctx);
  const rows = templates.map((x) =>
    h(
      "tr",
      { "data-template": x.id },
      h("td", {}, x.name),
      h("td", {}, x.host),
      h("td", { class: "num" }, String(x.port)),
      h("td", {}, x.ssl ? t("common.yes") : t("common.no")),
      h(
        "td",
        {},
        h("button", { type: "button", class: "secondary", onclick: () => form(formArea, x, rerender) }, t("common.edit")),
        " ",
        h(
          "button",
          {
            type: "button",
            class: "danger",
            onclick: async () => {
              if (!window.confirm(t("admin.confirm_delete", { name: x.name }))) return;
              try {
                await api.del(`/v1/admin/imap-templates/${encodeURIComponent(x.id)}`);
                toast(t("admin.deleted"));
                await rerender();
              } catch (e) {
                toast(describe(e));
              }
            },
          },
          t("common.delete"),
        ),
      ),
    ),
  );
  const cols = ["admin.name", "admin.host", "admin.port", "admin.ssl", "admin.actions"];
  const migrations = migrationsSection();
  const accounts = accountsSection();
  clear(
    main,
    h("h1", { tabindex: -1 }, t("admin.title")),
    h("p", {}, t("admin.org_intro")),
    migrations.section,
    accounts.section,
    h(
      "section",
      { id: "admin-templates", "aria-labelledby": "admin-templates-title" },
      h("h2", { id: "admin-templates-title" }, t("admin.templates")),
      h("p", {}, t("admin.intro")),
      h("button", { type: "button", onclick: () => form(formArea, null, rerender) }, t("admin.add")),
      formArea,
      templates.length
        ? h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(c))))), h("tbody", {}, rows)))
        : h("p", { class: "muted" }, t("admin.none")),
    ),
  );
  await Promise.all([migrations.reload(), accounts.reload()]);
}

/**
 * A table filled a page at a time: `load(cursor)` answers {items, next_cursor}; "Show more"
 * appends the next page. `row(item, section)` builds a <tr>.
 */
function pagedTable({ id, titleKey, emptyKey, cols, load, row }) {
  const tbody = h("tbody");
  const status = h("div", { "aria-live": "polite" });
  const empty = h("p", { class: "muted", hidden: true }, t(emptyKey));
  const heading = h("h2", { id: `${id}-title`, tabindex: -1 }, t(titleKey));
  // Scrolls sideways on a narrow screen: reachable by keyboard, named by its heading.
  const table = h("div", { class: "table-wrap", hidden: true, tabindex: 0, role: "region", "aria-labelledby": heading.id }, h("table", {}, h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(c))))), tbody));
  const more = h("button", { type: "button", class: "secondary more", hidden: true }, t("admin.more"));
  let cursor = null;
  const self = { section: null, status, heading };
  const loadPage = async (first) => {
    more.disabled = true;
    clear(status);
    try {
      const page = await load(first ? null : cursor);
      if (first) clear(tbody);
      const added = page.items.map((item) => row(item, self));
      added.forEach((tr) => tbody.append(tr));
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      empty.hidden = tbody.children.length > 0;
      table.hidden = !empty.hidden;
      // "Show more" gone with the last page: the first new row takes the focus instead.
      if (!first && more.hidden && added.length) added[0].focus();
    } catch (e) {
      clear(status, errorBox(e));
    }
    more.disabled = false;
  };
  more.addEventListener("click", () => loadPage(false));
  self.section = h("section", { id, class: "admin-list", "aria-labelledby": heading.id }, heading, empty, table, more, status);
  self.reload = () => loadPage(true);
  return self;
}

/** Confirm, act, say so, reload the list (focus on its heading). */
async function adminAction(list, confirmText, work, doneKey) {
  if (!window.confirm(confirmText)) return;
  try {
    await work();
    toast(t(doneKey));
    await list.reload();
    list.heading.focus();
  } catch (e) {
    clear(list.status, errorBox(e));
  }
}

function migrationsSection() {
  return pagedTable({
    id: "admin-migrations",
    titleKey: "admin.migrations",
    emptyKey: "admin.no_migrations",
    cols: ["admin.user", "admin.source", "admin.state", "admin.progress", "admin.created", "admin.actions"],
    load: async (cursor) => {
      const page = await api.adminMigrations(cursor);
      return { items: page.migrations, next_cursor: page.next_cursor };
    },
    row: (job, list) => {
      const src = job.source || {};
      const signin = { microsoft365: "Microsoft 365", google: "Google" }[src.type]; // a provider's sign-in
      const name = signin ? `${src.username || ""} (${signin})` : `${src.username || ""} @ ${src.host || ""}`;
      const cancel =
        CANCELLABLE.has(job.state) && !job.cancel_requested
          ? h(
              "button",
              {
                type: "button",
                class: "danger",
                "aria-label": t("admin.cancel_for", { name }),
                onclick: () =>
                  adminAction(list, t("admin.confirm_cancel", { name, user: job.user_id }), () => api.adminCancelMigration(job.user_id, job.id), "admin.cancel_requested"),
              },
              t("admin.cancel"),
            )
          : null;
      return h(
        "tr",
        { "data-job": job.id, "data-state": job.state, tabindex: -1 },
        h("td", { class: "id" }, job.user_id),
        h("td", {}, name),
        h("td", {}, t(stateKey(job))),
        h("td", {}, progress(job.progress?.percent, t("mig.progress_label", { name }))),
        h("td", {}, when(job.created_at)),
        h("td", {}, cancel),
      );
    },
  });
}

function accountsSection() {
  return pagedTable({
    id: "admin-accounts",
    titleKey: "admin.accounts",
    emptyKey: "admin.no_accounts",
    cols: ["admin.user", "admin.account", "admin.state", "admin.last_run", "admin.actions"],
    load: async (cursor) => {
      const page = await api.adminAccounts(cursor);
      return { items: page.accounts, next_cursor: page.next_cursor };
    },
    row: (account, list) => {
      const s = account.status || {};
      const name = `${account.username} @ ${account.host}:${account.port}`;
      const state = s.state === "running" ? t("pop.state_running") : account.auto_fetch ? t("pop.state_idle") : t("pop.state_off");
      const off = account.auto_fetch
        ? h(
            "button",
            {
              type: "button",
              class: "danger",
              "aria-label": t("admin.switch_off_for", { name }),
              onclick: () =>
                adminAction(list, t("admin.confirm_switch_off", { name, user: account.user_id }), () => api.adminSwitchOff(account.user_id, account.id), "admin.switched_off"),
            },
            t("admin.switch_off"),
          )
        : null;
      return h(
        "tr",
        { "data-account": account.id, "data-auto-fetch": String(Boolean(account.auto_fetch)), tabindex: -1 },
        h("td", { class: "id" }, account.user_id),
        h("td", {}, name),
        h("td", {}, state, s.disabled_reason ? h("div", { class: "muted" }, s.disabled_reason) : null),
        h("td", {}, s.last_checked_at ? `${when(s.last_checked_at)}${s.last_status ? ` — ${t(`run.${s.last_status}`)}` : ""}` : t("common.never")),
        h("td", {}, off),
      );
    },
  });
}

function form(area, template, rerender) {
  const name = h("input", { type: "text", required: true, value: template?.name || "" });
  const host = h("input", { type: "text", required: true, value: template?.host || "" });
  const port = h("input", { type: "number", required: true, min: 1, max: 65535, value: template?.port ?? 993 });
  const ssl = checkbox("admin.ssl", template ? template.ssl : true);
  const status = h("div", { "aria-live": "polite" });
  const heading = h("h2", { tabindex: -1 }, template ? t("admin.edit_title", { name: template.name }) : t("admin.add"));
  clear(
    area,
    h(
      "form",
      {
        class: "card form",
        onsubmit: async (ev) => {
          ev.preventDefault();
          const body = { name: name.value.trim(), host: host.value.trim(), port: Number(port.value), ssl: ssl.querySelector("input").checked };
          try {
            if (template) await api.put(`/v1/admin/imap-templates/${encodeURIComponent(template.id)}`, body);
            else await api.post("/v1/admin/imap-templates", body);
            toast(t("admin.saved"));
            await rerender();
          } catch (e) {
            clear(status, errorBox(e));
          }
        },
      },
      heading,
      field("admin.name", name),
      h("div", { class: "row3" }, field("admin.host", host), field("admin.port", port), ssl),
      h("div", { class: "actions" }, h("button", { type: "submit" }, t("common.save")), h("button", { type: "button", class: "secondary", onclick: () => clear(area) }, t("common.cancel"))),
      status,
    ),
  );
  heading.focus();
}
