// The console's shell: language, sign-in, navigation between pages (hash routes).
import * as api from "./api.js";
import * as signin from "./signin.js";
import { clear, errorBox, field, h, checkbox } from "./dom.js";
import { loadLanguage, preferredLanguage, rememberLanguage, t, translateStatic } from "./i18n.js";
import { mailboxPage } from "./page-mailbox.js";
import { accountsPage } from "./page-accounts.js";
import { migrationPage } from "./page-migration.js";
import { uploadPage } from "./page-upload.js";
import { rulesPage } from "./page-rules.js";
import { adminPage } from "./page-admin.js";
import { metricsPage } from "./page-metrics.js";

const DEMO_USERS = [
  { email: "alice@acme.example", tenant: "acme", name: "Alice Abe", admin: false, plan: "advanced" },
  { email: "bob@acme.example", tenant: "acme", name: "Bob Baba", admin: false, plan: "advanced" },
  { email: "carol@acme.example", tenant: "acme", name: "Carol Chiba", admin: true, plan: "advanced" },
  { email: "dave@smallco.example", tenant: "smallco", name: "Dave Doi", admin: false, plan: "basic" },
];

const PAGES = [
  { id: "mail", key: "nav.mailbox", render: mailboxPage },
  { id: "accounts", key: "nav.accounts", render: accountsPage },
  { id: "migration", key: "nav.migration", render: migrationPage },
  { id: "upload", key: "nav.upload", render: uploadPage },
  { id: "rules", key: "nav.rules", render: rulesPage },
  { id: "admin", key: "nav.admin", render: adminPage, admin: true },
  // Only where the local stack's GET /v1/local/metrics exists (it answers 404 elsewhere).
  { id: "metrics", key: "nav.metrics", render: metricsPage, admin: true, local: true },
];

// notice: what the sign-in page says first (an error, or {key} of a message), once.
const state = { me: null, cleanup: null, metrics: false, notice: null };
const allowed = (p) => (!p.admin || state.me?.admin) && (!p.local || state.metrics);
const main = document.getElementById("main");

function route() {
  const [page, ...rest] = window.location.hash.replace(/^#\/?/, "").split("/");
  return { page: page || "mail", args: rest.map(decodeURIComponent) };
}

function renderNav() {
  const nav = document.getElementById("nav");
  const current = route().page;
  const links = PAGES.filter(allowed).map((p) =>
    h("a", { href: `#/${p.id}`, "aria-current": p.id === current ? "page" : null }, t(p.key)),
  );
  clear(nav, links);
  nav.hidden = !state.me;
  const who = document.getElementById("who");
  who.textContent = state.me
    ? `${state.me.user.display_name} · ${state.me.tenant.name} (${t(`plan.${state.me.plan}`)})`
    : "";
  document.getElementById("signout").hidden = !state.me;
}

/** Render the page the hash names; `focus` moves focus to its heading (after navigation). */
async function show(focus = true) {
  if (state.cleanup) state.cleanup();
  state.cleanup = null;
  translateStatic();
  renderNav();
  if (!state.me) {
    await signInPage();
    return;
  }
  const { page, args } = route();
  const found = PAGES.find((p) => p.id === page && allowed(p)) || PAGES[0];
  clear(main);
  try {
    state.cleanup = (await found.render(main, { me: state.me, args, rerender: () => show(false) })) || null;
  } catch (e) {
    clear(main, errorBox(e));
  }
  // A page that focused something of its own (a linked job) keeps it.
  if (focus && !main.contains(document.activeElement)) main.querySelector("h1")?.focus();
}

async function signInPage() {
  const local = await api.localLoginAvailable();
  const heading = h("h1", { tabindex: -1 }, t("signin.title"));
  const status = h("div", { "aria-live": "polite" });
  const notice = state.notice;
  state.notice = null;
  if (notice?.key) clear(status, h("p", { class: "notice" }, t(notice.key)));
  else if (notice) clear(status, errorBox(notice));
  const done = async (work) => {
    clear(status);
    try {
      await work();
      await loadMe();
      await go("#/mail");
    } catch (e) {
      clear(status, errorBox(e));
    }
  };
  if (!local) {
    const config = await signin.hostedConfig();
    if (config) {
      clear(
        main,
        h(
          "section",
          { class: "card narrow" },
          heading,
          h("p", {}, t("signin.hosted_intro")),
          h(
            "button",
            {
              type: "button",
              id: "hosted-signin",
              onclick: async () => {
                clear(status);
                try {
                  await signin.beginSignIn(config);
                } catch (e) {
                  clear(status, errorBox(e));
                }
              },
            },
            t("signin.hosted_submit"),
          ),
          status,
        ),
      );
      heading.focus();
      return;
    }
    const tokenInput = h("textarea", { rows: 3, autocomplete: "off", spellcheck: false });
    clear(
      main,
      h(
        "section",
        { class: "card narrow" },
        heading,
        h("p", { class: "notice" }, t("signin.hosted_not_configured")),
        h(
          "form",
          {
            onsubmit: (ev) => {
              ev.preventDefault();
              done(async () => api.setToken(tokenInput.value.trim()));
            },
          },
          field("signin.token", tokenInput, "signin.token_hint"),
          h("button", { type: "submit" }, t("signin.submit")),
        ),
        status,
      ),
    );
    heading.focus();
    return;
  }
  const demo = DEMO_USERS.map((u) =>
    h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          class: "demo-user",
          "data-email": u.email,
          onclick: () => done(() => api.localLogin(u.email, u.tenant, u.admin)),
        },
        h("strong", {}, u.name),
        h("span", {}, u.email),
        h("span", { class: "tag" }, `${u.tenant} · ${t(`plan.${u.plan}`)}${u.admin ? ` · ${t("signin.admin")}` : ""}`),
      ),
    ),
  );
  const email = h("input", { type: "email", required: true, autocomplete: "email" });
  const tenant = h("input", { type: "text", required: true, pattern: "[a-z0-9][a-z0-9-]{0,62}" });
  const adminBox = checkbox("signin.admin", false);
  clear(
    main,
    h(
      "section",
      { class: "card narrow" },
      heading,
      h("p", {}, t("signin.local_intro")),
      h("ul", { class: "demo-users", "aria-label": t("signin.demo_users") }, demo),
      h("h2", {}, t("signin.other_user")),
      h(
        "form",
        {
          onsubmit: (ev) => {
            ev.preventDefault();
            const admin = adminBox.querySelector("input").checked;
            done(() => api.localLogin(email.value.trim(), tenant.value.trim(), admin));
          },
        },
        field("signin.email", email),
        field("signin.tenant", tenant),
        adminBox,
        h("button", { type: "submit" }, t("signin.submit")),
      ),
      status,
    ),
  );
  heading.focus();
}

/** Navigate to hash (hashchange renders), or re-render when already there. */
async function go(hash) {
  if (window.location.hash === hash) await show();
  else window.location.hash = hash;
}

async function loadMe() {
  state.me = await api.get("/v1/me");
  keepLanguage();
  state.metrics = state.me.admin ? (await api.localMetrics().catch(() => null)) !== null : false;
}

/**
 * The server writes notices (mail, with no request to take a language from) in the user's
 * language: the one they read the console in. Best effort: the console works without it.
 */
function keepLanguage() {
  const language = document.documentElement.lang;
  if (!state.me || state.me.language === language) return;
  api.patch("/v1/me", { language }).then((me) => { state.me = { ...state.me, ...me }; }).catch(() => {});
}

async function start() {
  await loadLanguage(preferredLanguage());
  const select = document.getElementById("lang");
  select.value = document.documentElement.lang;
  select.addEventListener("change", async () => {
    rememberLanguage(select.value);
    await loadLanguage(select.value);
    keepLanguage();
    await show(false);
  });
  document.getElementById("signout").addEventListener("click", async () => {
    const hosted = signin.signedInHosted();
    api.setToken(null);
    signin.rememberHosted(false);
    state.me = null;
    state.metrics = false;
    const config = hosted ? await signin.hostedConfig() : null;
    if (config) {
      // The hosted UI forgets its session too, then sends the browser back here.
      signin.leaveNotice("signin.signed_out");
      window.location.assign(signin.signOutUrl(config));
      return;
    }
    state.notice = { key: "signin.signed_out" };
    go("#/");
  });
  api.whenSignedOut(() => {
    if (!state.me) return; // signing in: the sign-in page shows the error itself
    // The ID token expired (an hour) or was revoked: sign in again, and say why.
    api.setToken(null);
    signin.rememberHosted(false);
    state.me = null;
    state.notice = { key: "signin.expired" };
    show();
  });
  window.addEventListener("hashchange", () => show());
  const left = signin.takeNotice();
  if (left) state.notice = { key: left };
  // Back from the hosted UI (?code=&state= or ?error=): finish the sign-in.
  const callback = signin.callbackParams();
  if (callback) {
    try {
      api.setToken(await signin.finishSignIn(await signin.hostedConfig(), callback));
      signin.rememberHosted(true);
    } catch (e) {
      api.setToken(null);
      state.notice = e;
    }
  }
  if (api.token()) {
    try {
      await loadMe();
    } catch (e) {
      api.setToken(null);
      signin.rememberHosted(false);
      if (callback) state.notice = e;
    }
  }
  await show(false);
}

start();
