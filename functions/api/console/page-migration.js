// IMAP migration: connection (template, manual, or a Microsoft 365 or Google sign-in),
// preview, agreement, start; the user's sign-ins; the jobs with a live progress bar, ETA and
// queue position; cancel, revert, sign in again; history; a job's report, retry, delta pass
// (migration-report.js).
import * as api from "./api.js";
import { bytes, checkbox, clear, describe, duration, errorBox, field, h, progress, toast, when } from "./dom.js";
import { stateKey, t } from "./i18n.js";
import { closeFollowUp, followUpActions, kindLabel, openLinked, reportSection } from "./migration-report.js";
import { finishedSignin, forProvider, openSignin } from "./oauth-window.js";
import { planGate } from "./plan.js";

const POLL_MS = 1000;
// Moving: polled. Waiting for the user (needs_signin): listed with the running ones, not polled.
const ACTIVE = new Set(["queued", "running", "paused", "rolling_back", "reverting"]);
const WAITING = new Set(["needs_signin"]);
const CANCELLABLE = new Set(["queued", "running", "paused", "needs_signin"]);
// The kinds of source that sign in with their provider in a window (purpose imap) instead of
// a password: whose sign-in each is, and the words for it.
const SIGNIN_KINDS = {
  microsoft365: { provider: "microsoft", label: "mig.type_m365", hint: "mig.m365_email_hint", agreement: "mig.agreement_text_m365", name: "Microsoft 365" },
  google: { provider: "google", label: "mig.type_google", hint: "mig.google_email_hint", agreement: "mig.agreement_text_google", name: "Google" },
};
// The user's sign-ins, listed by provider (Microsoft's and Google's, for migrations and POP).
const PROVIDERS = [
  { id: "microsoft", title: "oauth.group_microsoft", none: "oauth.none" },
  { id: "google", title: "oauth.group_google", none: "oauth.none_google" },
];

export async function migrationPage(main, ctx) {
  let templates;
  let providers;
  try {
    [{ templates }, { providers }] = await Promise.all([api.get("/v1/imap-templates"), api.get("/v1/oauth/providers")]);
  } catch (e) {
    if (planGate(main, e, ctx.me, "nav.migration")) return null;
    throw e;
  }
  const jobsArea = h("section", { class: "jobs", "aria-labelledby": "jobs-title" });
  const signinsArea = h("section", { class: "card signins", id: "m365-signins", "aria-labelledby": "signins-title" });
  const timers = new Set();
  const page = { jobsArea, signinsArea, timers, stopped: false, flow: null, reports: new Map() };
  page.refresh = () => refreshJobs(page);
  const onMessage = (ev) => signinFinished(page, ev);
  window.addEventListener("message", onMessage);
  // A provider this service has no app registration for: its kind is offered disabled, saying why.
  const available = new Set(providers.filter((p) => p.available).map((p) => p.id));
  clear(main, h("h1", { tabindex: -1 }, t("mig.title")), h("p", {}, t("mig.intro")), newMigrationForm(page, templates, available), signinsArea, jobsArea);
  await Promise.all([refreshJobs(page), refreshSignins(page)]);
  if (ctx.args?.[0]) openLinked(jobsArea, ctx.args[0]); // #/migration/{id}: a notice's link
  return () => {
    page.stopped = true;
    page.flow = null;
    window.removeEventListener("message", onMessage);
    closeFollowUp(page);
    timers.forEach((id) => clearTimeout(id));
  };
}

// ---------------------------------------------------------------- Microsoft and Google sign-in
/** Start a sign-in with `provider` as `email`, for a migration unless `purpose` says (oauth-window.js). */
function beginSignin(page, email, provider, report, purpose = "imap") {
  return openSignin(page, { windowName: "mailport-m365-signin", email, purpose, provider }, report);
}

/** The callback page reported: show what changed, and say how it went. */
async function signinFinished(page, ev) {
  const done = finishedSignin(page, ev);
  if (!done) return;
  const { flow, data } = done;
  refreshJobs(page); // a job that waited for this sign-in is queued again
  // The list first: drawn again, it would wipe the outcome of a sign-in started from it.
  await refreshSignins(page);
  if (data.status === "ready" && data.connection) flow.report.ready(data.connection);
  else flow.report.error({ code: String(data.code || ""), message: String(data.message || "") });
}

async function refreshSignins(page) {
  if (page.stopped) return;
  let connections;
  try {
    connections = await api.oauthConnections();
  } catch (e) {
    clear(page.signinsArea, h("h2", { id: "signins-title" }, t("oauth.signins")), errorBox(e));
    return;
  }
  const status = h("div", { "aria-live": "polite", class: "signins-status" });
  // The outcome goes to the list as drawn by then (signinFinished draws it again first).
  const now = () => page.signinsArea.querySelector(".signins-status") || status;
  const report = (email, provider) => ({
    ready: () => clear(now(), h("p", { class: "ok" }, t("oauth.ready_for", { email }))),
    error: (e) => clear(now(), errorBox(forProvider(e, provider))),
  });
  const item = (c, provider) =>
    h(
      "li",
      { class: "signin", "data-connection": c.id, "data-status": c.status, "data-provider": provider },
      h("span", { class: "email" }, c.email),
      h("span", { class: `tag status-${c.status}` }, t(`oauth.status_${c.status}`)),
      h(
        "span",
        { class: "actions" },
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            "aria-label": t("oauth.signin_again_for", { email: c.email }),
            onclick: () => {
              clear(status, h("p", { class: "muted" }, t("oauth.signing_in")));
              // Renewed for what it is for: a POP account's sign-in asks for POP only.
              beginSignin(page, c.email, provider, report(c.email, provider), c.purpose || "imap");
            },
          },
          t("oauth.signin_again"),
        ),
        h(
          "button",
          {
            type: "button",
            class: "danger",
            "aria-label": t("oauth.remove_for", { email: c.email }),
            onclick: async () => {
              if (!window.confirm(t("oauth.confirm_remove", { email: c.email }))) return;
              try {
                await api.removeOauthConnection(c.id);
                toast(t("oauth.removed"));
                await refreshSignins(page);
                page.signinsArea.querySelector("h2")?.focus();
              } catch (e) {
                clear(status, errorBox(e));
              }
            },
          },
          t("oauth.remove"),
        ),
      ),
    );
  const group = ({ id, title, none }) => {
    // Stored before Google existed, a sign-in without a provider is Microsoft's.
    const mine = connections.filter((c) => (c.provider || "microsoft") === id);
    return h(
      "div",
      { class: "signin-group", "data-provider": id },
      h("h3", {}, t(title)),
      mine.length ? h("ul", { class: "signin-list" }, mine.map((c) => item(c, id))) : h("p", { class: "muted" }, t(none)),
    );
  };
  clear(page.signinsArea, h("h2", { id: "signins-title", tabindex: -1 }, t("oauth.signins")), PROVIDERS.map(group), status);
}

function newMigrationForm(page, templates, available) {
  const option = (value, key, disabled = false, why = null) => {
    const input = h("input", { type: "radio", name: "conn-type", value, disabled, checked: value === (templates.length ? "template" : "manual") });
    input.id = `conn-${value}`;
    const note = why ? h("span", { class: "hint", id: `${input.id}-why` }, why) : null;
    if (note) input.setAttribute("aria-describedby", note.id);
    return h("div", { class: "check" }, input, h("label", { for: input.id }, t(key)), note);
  };
  const signinOption = ([value, k]) => {
    const off = !available.has(k.provider);
    return option(value, k.label, off, off ? t("mig.signin_unavailable", { name: k.name }) : null);
  };
  const types = h(
    "fieldset",
    { class: "choices" },
    h("legend", {}, t("mig.connection")),
    option("template", "mig.type_template", !templates.length),
    option("manual", "mig.type_manual"),
    Object.entries(SIGNIN_KINDS).map(signinOption),
  );
  const template = h("select", {}, templates.map((x) => h("option", { value: x.id }, `${x.name} (${x.host}:${x.port})`)));
  const host = h("input", { type: "text", autocomplete: "off" });
  const port = h("input", { type: "number", min: 1, max: 65535, value: 993 });
  const ssl = checkbox("mig.ssl", true);
  const username = h("input", { type: "text", required: true, autocomplete: "off" });
  const password = h("input", { type: "password", required: true, autocomplete: "new-password" });
  const templateBox = h("div", {}, field("mig.template", template, templates.length ? null : "mig.no_templates"));
  const manualBox = h("div", { class: "row3" }, field("mig.host", host), field("mig.port", port, "mig.port_hint"), ssl);
  const credsBox = h("div", {}, field("mig.username", username), field("mig.password", password));
  // A sign-in kind (Microsoft 365, Google): the mailbox's address, then the provider's sign-in
  // in a new window instead of a password. One box for every kind (its ids are the ones it
  // had when Microsoft 365 was the only kind).
  const signinEmail = h("input", { type: "email", autocomplete: "email", id: "m365-email" });
  const signinStatus = h("div", { "aria-live": "polite", id: "m365-status" });
  const authButton = h("button", { type: "button", id: "authenticate-m365" }, t("mig.m365_authenticate"));
  const signinBox = h(
    "div",
    { class: "m365" },
    field("mig.m365_email", signinEmail, "mig.m365_email_hint"),
    h("div", { class: "actions" }, authButton),
    signinStatus,
  );
  const signinHint = signinBox.querySelector(".hint");
  let signedIn = null; // { kind, connection }: the sign-in that is ready for this address
  const agreementText = h("p", {});
  const agreed = checkbox("mig.agreement", false);
  const agreedInput = agreed.querySelector("input");
  const previewArea = h("div", { "aria-live": "polite" });
  const status = h("div", { "aria-live": "polite" });
  const startButton = h("button", { type: "button", id: "start-migration", disabled: true }, t("mig.start"));
  const previewButton = h("button", { type: "submit", class: "secondary", id: "preview-migration" }, t("mig.preview"));
  let previewed = null;

  const selected = () => types.querySelector("input:checked")?.value || "manual";
  const signinKind = () => SIGNIN_KINDS[selected()] || null;
  // The sign-in made for the kind now chosen (one made for another kind does not count).
  const ready = () => (signedIn?.kind === selected() ? signedIn.connection : null);
  const connection = () => {
    if (signinKind()) return { type: selected(), connection_id: ready()?.id };
    const c = { type: selected(), username: username.value.trim(), password: password.value };
    if (c.type === "template") c.template_id = template.value;
    else Object.assign(c, { host: host.value.trim(), port: Number(port.value), ssl: ssl.querySelector("input").checked });
    return c;
  };
  const sync = () => {
    const kind = signinKind();
    templateBox.hidden = selected() !== "template";
    manualBox.hidden = selected() !== "manual";
    credsBox.hidden = Boolean(kind);
    username.required = password.required = !kind;
    signinBox.hidden = !kind;
    signinEmail.required = Boolean(kind);
    if (kind) signinHint.textContent = t(kind.hint);
    previewButton.hidden = Boolean(kind) && !ready(); // a sign-in kind previews once signed in
    agreementText.textContent = t(kind ? kind.agreement : "mig.agreement_text");
    startButton.disabled = !(previewed && agreedInput.checked);
  };
  const invalidate = () => {
    previewed = null;
    clear(previewArea);
    sync();
  };
  const showReady = () => {
    const conn = ready();
    if (conn) clear(signinStatus, h("p", { class: "ok", id: "m365-ready", tabindex: -1 }, t("oauth.ready"), " ", h("span", { class: "muted" }, `(${conn.email})`)));
    else clear(signinStatus);
  };
  types.addEventListener("change", () => {
    showReady(); // a sign-in made for one kind is not shown as ready for another
    invalidate();
  });
  for (const input of [template, host, port, username, password, ssl.querySelector("input")]) input.addEventListener("input", invalidate);
  agreedInput.addEventListener("change", sync);
  signinEmail.addEventListener("input", () => {
    signedIn = null;
    clear(signinStatus);
    invalidate();
  });

  const authenticate = () => {
    if (!signinEmail.reportValidity()) return;
    const email = signinEmail.value.trim();
    const kind = selected();
    const { provider } = SIGNIN_KINDS[kind];
    signedIn = null;
    invalidate();
    clear(signinStatus, h("p", { class: "muted" }, t("oauth.signing_in")));
    beginSignin(page, email, provider, {
      ready: (conn) => {
        signedIn = { kind, connection: conn };
        if (selected() !== kind) return; // the user chose another kind meanwhile
        showReady();
        sync();
        runPreview();
      },
      error: (e) => {
        if (selected() !== kind) return;
        clear(signinStatus, errorBox(forProvider(e, provider)));
        authButton.focus();
      },
    });
  };
  authButton.addEventListener("click", authenticate);

  const preview = async (ev) => {
    ev.preventDefault();
    if (signinKind() && !ready()) {
      authenticate(); // Enter in the address field
      return;
    }
    await runPreview();
  };
  const runPreview = async () => {
    clear(status, h("p", { class: "muted" }, t("mig.previewing")));
    clear(previewArea);
    try {
      const conn = connection();
      const result = await previewAll(conn);
      previewed = conn;
      clear(status);
      clear(previewArea, previewTable(result));
    } catch (e) {
      previewed = null;
      clear(status, errorBox(forProvider(e, signinKind()?.provider)));
    }
    sync();
  };
  startButton.addEventListener("click", async () => {
    startButton.disabled = true;
    clear(status, h("p", { class: "muted" }, t("mig.starting")));
    try {
      await api.post("/v1/migrations", { connection: previewed, agreed: true });
      password.value = "";
      signedIn = null;
      clear(signinStatus);
      agreedInput.checked = false;
      invalidate();
      clear(status);
      toast(t("mig.started"));
      await refreshJobs(page);
      page.jobsArea.querySelector("h2")?.focus();
    } catch (e) {
      clear(status, errorBox(forProvider(e, SIGNIN_KINDS[previewed?.type]?.provider)));
      sync();
    }
  });
  sync();
  return h(
    "form",
    { class: "card form", id: "migration-form", onsubmit: preview },
    h("h2", {}, t("mig.new")),
    types,
    templateBox,
    manualBox,
    signinBox,
    credsBox,
    previewButton,
    previewArea,
    h("div", { class: "agreement" }, agreementText, agreed),
    startButton,
    status,
  );
}

/** Every page of the dry run (200 folders a page), its totals and estimate added up. */
async function previewAll(conn) {
  const result = await api.post("/v1/migrations/preview", { connection: conn });
  let cursor = result.next_cursor;
  while (cursor) {
    const page = await api.post("/v1/migrations/preview", { connection: conn, cursor });
    result.folders.push(...page.folders);
    for (const k of ["total_messages", "total_bytes", "oversize", "estimated_seconds"]) result[k] += page[k];
    cursor = page.next_cursor;
  }
  return result;
}

function previewTable(result) {
  const cols = ["mig.source_folder", "mig.target_folder", "mig.messages", "mig.size", "mig.oversize"];
  return h(
    "section",
    { class: "preview", id: "migration-preview" },
    h("h3", {}, t("mig.preview_title")),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(c))))),
        h(
          "tbody",
          {},
          result.folders.map((f) =>
            h(
              "tr",
              { class: f.skipped ? "skipped" : "" },
              h("td", {}, f.name),
              h("td", {}, f.skipped ? t("mig.skipped", { why: f.skipped }) : f.target),
              h("td", { class: "num" }, String(f.messages)),
              h("td", { class: "num" }, bytes(f.bytes)),
              h("td", { class: "num" }, String(f.oversize)),
            ),
          ),
        ),
      ),
    ),
    h(
      "p",
      { class: "totals" },
      t("mig.preview_totals", {
        messages: result.total_messages,
        size: bytes(result.total_bytes),
        oversize: result.oversize,
        eta: duration(result.estimated_seconds),
      }),
    ),
    result.oversize ? h("p", { class: "muted" }, t("mig.oversize_note")) : null,
  );
}

async function refreshJobs(page) {
  if (page.stopped) return;
  page.timers.forEach((id) => clearTimeout(id));
  page.timers.clear();
  let migrations;
  try {
    ({ migrations } = await api.get("/v1/migrations"));
  } catch (e) {
    clear(page.jobsArea, errorBox(e));
    return;
  }
  // A job that starts waiting for a sign-in changes that sign-in's status: show it too.
  const states = migrations.map((j) => `${j.id}:${j.state}`).join(",");
  if (page.states !== undefined && states !== page.states && migrations.some((j) => WAITING.has(j.state))) refreshSignins(page);
  page.states = states;
  page.jobs = migrations; // a retry's card names the job it follows
  const active = migrations.filter((j) => ACTIVE.has(j.state) || WAITING.has(j.state));
  const ended = migrations.filter((j) => !ACTIVE.has(j.state) && !WAITING.has(j.state));
  // Detailed state (progress, queue position) for the jobs that are moving.
  const detailed = await Promise.all(active.map((j) => api.get(`/v1/migrations/${encodeURIComponent(j.id)}`).catch(() => j)));
  const focused = document.activeElement?.dataset?.action;
  const focusedJob = document.activeElement?.closest?.("[data-job]")?.dataset.job;
  const kept = document.activeElement; // inside an open report, kept across the redraw
  clear(
    page.jobsArea,
    h("h2", { id: "jobs-title", tabindex: -1 }, t("mig.jobs")),
    detailed.length ? h("ul", { class: "cards" }, detailed.map((j) => h("li", {}, jobCard(page, j)))) : h("p", { class: "muted" }, t("mig.no_active")),
    h("h2", {}, t("mig.history")),
    ended.length ? h("ul", { class: "cards" }, ended.map((j) => h("li", {}, jobCard(page, j)))) : h("p", { class: "muted" }, t("mig.no_history")),
  );
  if (focused && focusedJob) page.jobsArea.querySelector(`[data-job="${focusedJob}"] [data-action="${focused}"]`)?.focus();
  else if (kept?.isConnected && kept !== document.activeElement && page.jobsArea.contains(kept)) kept.focus();
  if (active.some((j) => ACTIVE.has(j.state)) && !page.stopped) page.timers.add(setTimeout(() => refreshJobs(page), POLL_MS));
}

function jobCard(page, job) {
  const p = job.progress || {};
  const c = job.counts || {};
  const src = job.source || {};
  const facts = [
    ["mig.state", t(stateKey(job))],
    ["mig.created", when(job.created_at)],
  ];
  if (job.state === "queued" && job.queue_position) {
    // The API counts exactly up to 100 jobs ahead; 101 means further back.
    const place = job.queue_position > 100 ? "100+" : String(job.queue_position);
    facts.push(["mig.queue_position", place]);
  }
  if (job.state === "paused" && job.paused_until) {
    facts.push([job.paused_by === "provider" ? "mig.paused_provider_until" : "mig.paused_until", when(job.paused_until)]);
  }
  const planned = job.state !== "queued" || (p.total_messages ?? 0) > 0; // a queued job has no plan yet
  if (ACTIVE.has(job.state) && planned) facts.push(["mig.eta", p.eta_seconds === null || p.eta_seconds === undefined ? t("common.unknown") : duration(p.eta_seconds)]);
  if (planned) {
    facts.push(["mig.progress_count", t("mig.progress_of", { done: p.messages ?? 0, total: p.total_messages ?? 0, size: bytes(p.bytes), total_size: bytes(p.total_bytes) })]);
    facts.push(["mig.counts", t("mig.counts_text", { imported: c.imported ?? 0, present: c.already_present ?? 0, oversize: c.skipped_oversize ?? 0, failed: c.failed ?? 0 })]);
  }
  if (job.finished_at) facts.push(["mig.finished", when(job.finished_at)]);
  const kind = SIGNIN_KINDS[src.type];
  if (job.error) facts.push(["mig.error", describe(forProvider(job.error, kind?.provider))]);
  if (job.rollback_incomplete) facts.push(["mig.error", t("mig.rollback_incomplete")]);
  const actions = [];
  if (CANCELLABLE.has(job.state) && !job.cancel_requested) {
    actions.push(h("button", { type: "button", class: "danger", "data-action": "cancel", onclick: () => act(page, job, "cancel", "mig.confirm_cancel") }, t("mig.cancel")));
  }
  if (job.state === "needs_signin" && src.username && kind) {
    actions.push(
      h(
        "button",
        {
          type: "button",
          "data-action": "signin",
          onclick: () => {
            toast(t("oauth.signing_in"));
            beginSignin(page, src.username, kind.provider, {
              ready: () => toast(t("oauth.ready_for", { email: src.username })),
              error: (e) => toast(describe(forProvider(e, kind.provider))),
            });
          },
        },
        t("oauth.signin_again"),
      ),
    );
  }
  if (job.state === "completed") {
    actions.push(h("button", { type: "button", class: "danger", "data-action": "revert", onclick: () => act(page, job, "revert", "mig.confirm_revert") }, t("mig.revert")));
  }
  const title = kind ? `${src.username || ""} (${kind.name})` : `${src.username || ""} @ ${src.host || ""}`;
  actions.push(...followUpActions(page, job, title));
  return h(
    "article",
    { class: `card job state-${job.state}`, "data-job": job.id, "data-state": job.state, "data-kind": job.kind || "full", "aria-label": title },
    h("h3", {}, title),
    kindLabel(page, job),
    progress(p.percent, t("mig.progress_label", { name: title })),
    h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)])),
    actions.length ? h("div", { class: "actions" }, actions) : null,
    reportSection(page, job),
  );
}

async function act(page, job, action, confirmKey) {
  if (!window.confirm(t(confirmKey))) return;
  try {
    await api.post(`/v1/migrations/${encodeURIComponent(job.id)}/${action}`);
    toast(t(`mig.${action}_requested`));
  } catch (e) {
    toast(describe(e));
  }
  await refreshJobs(page);
}
