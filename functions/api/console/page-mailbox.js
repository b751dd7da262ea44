// Mailbox: folders with unread counts, a folder's messages with each source's icon, one message.
import * as api from "./api.js";
import { bytes, clear, errorBox, h, when } from "./dom.js";
import { t } from "./i18n.js";
import { showMessage } from "./viewer.js";

const SOURCE_ICONS = { upload: "⇪", pop: "✉", imap: "⇄", notice: "ℹ" };

export function folderLabel(folder) {
  return folder.system ? t(`folder.${folder.system}`) : folder.name;
}

/** Folders in tree order, each with its depth (for indentation and for <select> options). */
export function folderTree(folders) {
  const children = new Map();
  for (const f of folders) {
    const key = f.parent_id || "";
    if (!children.has(key)) children.set(key, []);
    children.get(key).push(f);
  }
  const out = [];
  const walk = (parent, depth) => {
    for (const f of children.get(parent) || []) {
      out.push({ folder: f, depth });
      walk(f.id, depth + 1);
    }
  };
  walk("", 0);
  return out;
}

export function folderOptions(folders, selected) {
  return folderTree(folders).map(({ folder, depth }) =>
    h("option", { value: folder.id, selected: folder.id === selected }, `${"\u00a0\u00a0".repeat(depth)}${folderLabel(folder)}`),
  );
}

export function sourceIcon(message) {
  const type = message.source?.type || "upload";
  const label = t(`source.${type}`);
  return h(
    "span",
    { class: `src src-${type}`, title: label, "data-source": type },
    h("span", { "aria-hidden": "true" }, SOURCE_ICONS[type] || "•"),
    h("span", { class: "sr-only" }, label),
    message.icon && message.icon !== "none" ? h("span", { class: `dot icon-${message.icon}`, "aria-hidden": "true" }) : null,
  );
}

function addresses(list) {
  return (list || []).map((a) => (a.name ? `${a.name} <${a.email}>` : a.email)).join(", ");
}

export async function mailboxPage(main, { args }) {
  const { folders } = await api.get("/v1/folders");
  const folderId = args[0] || "inbox";
  const current = folders.find((f) => f.id === folderId) || folders[0];
  const list = h("div", { class: "messages", "aria-live": "polite" });
  const view = h("section", { class: "message-view", "aria-label": t("mail.message") });
  const folderNav = h(
    "nav",
    { class: "folders", "aria-label": t("mail.folders") },
    h(
      "ul",
      {},
      folderTree(folders).map(({ folder, depth }) =>
        h(
          "li",
          { style: { "--depth": depth } },
          h(
            "a",
            {
              href: `#/mail/${encodeURIComponent(folder.id)}`,
              "aria-current": folder.id === current.id ? "page" : null,
              "data-folder": folder.id,
            },
            h("span", { class: "name" }, folderLabel(folder)),
            folder.unread
              ? h("span", { class: "badge", "aria-label": t("mail.unread_count", { n: folder.unread }) }, String(folder.unread))
              : null,
          ),
        ),
      ),
    ),
  );
  clear(
    main,
    h("h1", { tabindex: -1 }, t("mail.title"), " — ", folderLabel(current)),
    h("div", { class: "mailbox" }, folderNav, list, view),
  );
  clear(view, h("p", { class: "muted" }, t("mail.pick_message")));

  const open = async (message, row) => {
    for (const r of list.querySelectorAll(".row")) r.removeAttribute("aria-current");
    row.setAttribute("aria-current", "true");
    if (row.classList.contains("unread")) {
      row.classList.remove("unread");
      markedRead(folderNav, current.id);
    }
    await showMessage(view, message, { sourceLine });
  };

  let cursor = null;
  const table = h("ul", { class: "message-list", "aria-label": t("mail.messages") });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, t("mail.more"));
  const loadPage = async () => {
    const params = new URLSearchParams({ limit: "50" });
    if (cursor) params.set("cursor", cursor);
    const page = await api.get(`/v1/folders/${encodeURIComponent(current.id)}/messages?${params}`);
    for (const m of page.messages) {
      const row = h(
        "button",
        { type: "button", class: `row${m.flags?.seen ? "" : " unread"}`, "data-message": m.id },
        sourceIcon(m),
        h("span", { class: "from" }, addresses(m.from) || t("mail.no_sender")),
        h("span", { class: "subject" }, m.subject || t("mail.no_subject")),
        h("span", { class: "date" }, when(m.date || m.received_at)),
      );
      row.addEventListener("click", () => open(m, row));
      table.append(h("li", {}, row));
    }
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
  };
  more.addEventListener("click", loadPage);
  await loadPage();
  clear(list, table.children.length ? table : h("p", { class: "muted" }, t("mail.empty")), more);
}

/** One fewer unread in the folder's badge (showMessage marks the message read). */
function markedRead(folderNav, folderId) {
  const badge = folderNav.querySelector(`a[data-folder="${CSS.escape(folderId)}"] .badge`);
  if (!badge) return;
  const left = Number(badge.textContent) - 1;
  if (left > 0) {
    badge.textContent = String(left);
    badge.setAttribute("aria-label", t("mail.unread_count", { n: left }));
  } else {
    badge.remove();
  }
}

/** Where the message came from (the viewer shows it under the subject). */
function sourceLine(message) {
  const source = message.source || {};
  return h(
    "p",
    { class: "source-line" },
    sourceIcon(message),
    " ",
    t(`source.${source.type || "upload"}`),
    source.id ? h("code", {}, ` ${source.id}`) : null,
  );
}
