// A migration's report (what it did not import, and why), as a table and as one CSV file;
// and what a completed job offers next: retry what failed, bring in the mail that arrived
// since. Drawn into the job cards of page-migration.js.
import * as api from "./api.js";
import { bytes, checkbox, clear, errorBox, field, h, nextId, toast, when } from "./dom.js";
import { t } from "./i18n.js";
import { forProvider } from "./oauth-window.js";

const PAGE = 50; // report lines a page of the table
const CSV_PAGE = 200; // the most the API sends a page: fewer requests for the file
// Sources that sign in with their provider: no password to ask for, their own agreement.
const SIGNIN_SOURCES = {
  microsoft365: { provider: "microsoft", agreement: "mig.agreement_text_m365" },
  google: { provider: "google", agreement: "mig.agreement_text_google" },
};
const KIND_LABELS = { retry: "mig.kind_retry", delta: "mig.kind_delta" };
const FOLLOW_UPS = {
  retry: { button: "mig.retry", title: "mig.retry_title", submit: "mig.retry_submit", queued: "mig.retry_queued" },
  delta: { button: "mig.delta", title: "mig.delta_title", submit: "mig.delta_submit", queued: "mig.delta_queued" },
};

/** A page of the report (JSON or CSV, as `accept` says), in the console's language. */
function fetchReport(jobId, { cursor, limit, accept }) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set("cursor", cursor);
  return api.response(`/v1/migrations/${encodeURIComponent(jobId)}/report?${query}`, accept);
}

/** The next page's cursor from a Link header (`<?cursor=...>; rel="next"`), else null. */
function nextCursor(link) {
  const target = /<([^>]*)>\s*;\s*rel="?next"?/i.exec(link || "")?.[1];
  if (!target) return null;
  // Read by hand, not with URL(): a cursor sent unencoded may hold a "#".
  const query = target.slice(target.indexOf("?") + 1);
  const start = query.search(/(^|&)cursor=/);
  if (start < 0) return null;
  const value = query.slice(query.indexOf("cursor=", start) + "cursor=".length).split("&")[0];
  try {
    return decodeURIComponent(value) || null;
  } catch {
    return value || null;
  }
}

/** A retry's or delta pass's label ("Retry of the migration of …"), or null for a full one. */
export function kindLabel(page, job) {
  const key = KIND_LABELS[job.kind];
  if (!key) return null;
  const origin = (page.jobs || []).find((j) => j.id === job.origin_id);
  const name = origin ? when(origin.created_at) : job.origin_id || "";
  return h("p", { class: "kind" }, h("span", { class: `tag kind-${job.kind}` }, t(key, { origin: name })));
}

// ---------------------------------------------------------------- the report
/**
 * The report's controls for a job that left messages behind, or null. The same element
 * for the job on every redraw of the list (page.reports), so an open report stays open.
 */
/**
 * The job a link names (a notice's "see the report", `#/migration/{id}`): brought into view
 * and focused, its report opened; said so when it is not (or no longer) in the list.
 */
export function openLinked(area, jobId) {
  const card = area.querySelector(`article.job[data-job="${CSS.escape(jobId)}"]`);
  if (!card) {
    toast(t("mig.linked_missing"));
    return;
  }
  card.setAttribute("tabindex", "-1");
  card.scrollIntoView({ block: "start" });
  card.focus();
  const toggle = card.querySelector('[data-action="report"]');
  if (toggle && toggle.getAttribute("aria-expanded") !== "true") toggle.click();
}

export function reportSection(page, job) {
  const c = job.counts || {};
  const count = (c.skipped_oversize ?? 0) + (c.failed ?? 0);
  if (count <= 0) return null;
  page.reports ||= new Map();
  let kept = page.reports.get(job.id);
  if (!kept) {
    kept = reportPanel(job);
    page.reports.set(job.id, kept);
  }
  kept.update(count);
  return kept.section;
}

function reportPanel(job) {
  const cols = ["mig.report_folder", "mig.report_subject", "mig.report_sender", "mig.report_date", "mig.size", "mig.report_reason"];
  const tbody = h("tbody", {});
  const summary = h("p", { class: "muted report-summary" });
  const table = h(
    "table",
    { hidden: true },
    h("caption", { class: "sr-only" }, t("mig.report_caption")),
    h("thead", {}, h("tr", {}, cols.map((k) => h("th", { scope: "col" }, t(k))))),
    tbody,
  );
  const more = h("button", { type: "button", class: "secondary more", hidden: true }, t("mig.report_more"));
  const status = h("div", { "aria-live": "polite", class: "report-status" });
  const body = h("div", { class: "report-body", id: nextId("report"), hidden: true }, summary, h("div", { class: "table-wrap" }, table), more);
  const toggle = h("button", { type: "button", class: "secondary", "aria-expanded": "false", "aria-controls": body.id, "data-action": "report" });
  const csv = h("button", { type: "button", class: "secondary", "data-action": "csv" }, t("mig.report_csv"));
  const section = h("section", { class: "job-report" }, h("div", { class: "actions" }, toggle, csv), body, status);
  let cursor = null;
  let generation = 0; // a load answered after the report was closed or reloaded is dropped

  const load = async (first) => {
    const mine = first ? ++generation : generation;
    if (first) {
      cursor = null;
      clear(tbody);
      table.hidden = true;
      more.hidden = true;
      clear(summary, t("mig.report_loading"));
    }
    more.disabled = true;
    clear(status);
    try {
      const page = await (await fetchReport(job.id, { cursor, limit: PAGE, accept: "application/json" })).json();
      if (mine !== generation) return;
      const rows = page.items.map(reportRow);
      tbody.append(...rows);
      cursor = page.next_cursor || null;
      table.hidden = !tbody.children.length;
      more.hidden = !cursor;
      clear(summary, t("mig.report_summary", { count: page.not_imported }));
      // "Show more" gone with the last page: the first new line takes the focus instead.
      if (!first && !cursor && rows.length) rows[0].focus();
    } catch (e) {
      if (mine === generation) clear(status, errorBox(e));
    }
    more.disabled = false;
  };
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    body.hidden = !open;
    section.classList.toggle("open", open);
    if (open) load(true); // read afresh: a running job's report grows
    else generation += 1;
  });
  more.addEventListener("click", () => load(false));
  csv.addEventListener("click", () => downloadCsv(job, csv, status));
  const update = (count) => {
    toggle.textContent = t("mig.report_button", { count });
  };
  return { section, update };
}

function reportRow(item) {
  // A folder deleted on the server during the job: one line for its messages not yet copied.
  const what =
    item.reason === "folder_gone"
      ? t("mig.report_folder_messages", { count: item.messages ?? 1 })
      : item.subject || t("mig.report_no_subject");
  return h(
    "tr",
    { tabindex: -1, "data-reason": item.reason },
    h("td", {}, item.folder),
    h("td", {}, item.reason === "folder_gone" || !item.subject ? h("span", { class: "muted" }, what) : what),
    h("td", {}, item.sender),
    h("td", {}, item.date ? when(item.date) : ""),
    h("td", { class: "num" }, bytes(item.size)),
    h("td", {}, item.reason_text),
  );
}

/** Every page of the CSV (the first has the header row), joined into one file and saved. */
async function downloadCsv(job, button, status) {
  button.disabled = true;
  clear(status, h("p", { class: "muted" }, t("mig.report_csv_preparing")));
  try {
    const parts = [];
    const seen = new Set();
    let cursor = null;
    let name = null;
    for (;;) {
      const response = await fetchReport(job.id, { cursor, limit: CSV_PAGE, accept: "text/csv" });
      name ||= /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1];
      parts.push(await response.text());
      cursor = nextCursor(response.headers.get("Link"));
      if (!cursor) break;
      if (seen.has(cursor)) throw new Error(t("mig.report_csv_incomplete")); // never a partial file
      seen.add(cursor);
    }
    save(parts, name || `migration-${job.id}-report.csv`);
    clear(status);
  } catch (e) {
    clear(status, errorBox(e));
  }
  button.disabled = false;
}

function save(parts, name) {
  // A byte order mark first, so that a spreadsheet reads the file as UTF-8 (Japanese text).
  const href = URL.createObjectURL(new Blob(["\ufeff", ...parts], { type: "text/csv;charset=utf-8" }));
  const link = h("a", { href, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

// ---------------------------------------------------------------- retry, delta pass
/** The buttons for what a completed job offers next (`title`: the source, as the card says). */
export function followUpActions(page, job, title) {
  const out = [];
  if (job.retry_available) {
    out.push(h("button", { type: "button", class: "secondary", "data-action": "retry", onclick: () => openFollowUp(page, job, "retry", title) }, t("mig.retry")));
  }
  if (job.delta_until && new Date(job.delta_until).getTime() > Date.now()) {
    const note = h("small", { class: "hint", id: nextId("delta") }, t("mig.delta_until", { until: when(job.delta_until) }));
    const button = h(
      "button",
      { type: "button", class: "secondary", "data-action": "delta", "aria-describedby": note.id, onclick: () => openFollowUp(page, job, "delta", title) },
      t("mig.delta"),
    );
    out.push(h("span", { class: "follow-up" }, button, note));
  }
  return out;
}

/** Close the follow-up dialog, if one is open (leaving the page). */
export function closeFollowUp(page) {
  if (!page.dialog) return;
  const { dialog } = page;
  page.dialog = null;
  if (dialog.open) dialog.close();
  dialog.remove();
}

/** Ask for the agreement (and the source's password where it has one), then queue the job. */
function openFollowUp(page, job, action, title) {
  closeFollowUp(page);
  const words = FOLLOW_UPS[action];
  const signin = SIGNIN_SOURCES[job.source?.type];
  const titleId = nextId("follow-up");
  const password = signin ? null : h("input", { type: "password", required: true, maxlength: 1024, autocomplete: "off" });
  const agreed = checkbox("mig.agreement", false);
  const agreedInput = agreed.querySelector("input");
  const status = h("div", { "aria-live": "polite", class: "follow-up-status" });
  const submit = h("button", { type: "submit", disabled: true }, t(words.submit));
  const cancel = h("button", { type: "button", class: "secondary" }, t("common.cancel"));
  const intro =
    action === "retry"
      ? t("mig.retry_intro", { failed: job.counts?.failed ?? 0 })
      : t("mig.delta_intro", { until: when(job.delta_until) });
  const form = h(
    "form",
    {},
    h("h2", { id: titleId }, t(words.title)),
    h("p", { class: "muted" }, title),
    h("p", {}, intro),
    password ? field("mig.followup_password", password, "mig.followup_password_hint") : null,
    h("div", { class: "agreement" }, h("p", {}, t(signin ? signin.agreement : "mig.agreement_text")), agreed),
    status,
    h("div", { class: "actions" }, submit, cancel),
  );
  // No data-job here: the list's redraw would move the focus to the job card's control.
  const dialog = h("dialog", { class: "follow-up", id: "follow-up-dialog", "data-follow-up": action, "aria-labelledby": titleId }, form);
  agreedInput.addEventListener("change", () => {
    submit.disabled = !agreedInput.checked;
  });
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    if (page.dialog === dialog) page.dialog = null;
    dialog.remove();
    // Back to the button that opened it (the card may have been drawn again since).
    const sel = `[data-job="${CSS.escape(job.id)}"] [data-action="${action}"]`;
    page.jobsArea.querySelector(sel)?.focus();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!agreedInput.checked || (password && !password.reportValidity())) return;
    submit.disabled = true;
    clear(status, h("p", { class: "muted" }, t("mig.starting")));
    const body = { agreed: true };
    if (password) body.password = password.value;
    try {
      await api.post(`/v1/migrations/${encodeURIComponent(job.id)}/${action}`, body);
      if (password) password.value = "";
      dialog.close();
      toast(t(words.queued));
      await page.refresh();
      page.jobsArea.querySelector("h2")?.focus();
    } catch (e) {
      clear(status, errorBox(forProvider(e, signin?.provider)));
      submit.disabled = !agreedInput.checked;
      if (password && (e.code === "remote_auth_failed" || e.code === "password_required")) password.focus();
    }
  });
  page.dialog = dialog;
  document.body.append(dialog);
  dialog.showModal();
  (password || agreedInput).focus();
}
