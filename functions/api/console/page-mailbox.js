// Mailbox: folders with unread counts, a folder's messages with each source's icon, one message.
import * as api from "./api.js";
import { clear, h } from "./dom.js";
import { t } from "./i18n.js";
import { messageList } from "./mailbox-list.js";
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

/** The folder list's entries (drawn again after an action, so the counts stay right). */
function folderItems(folders, current) {
  return h(
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
  );
}

export async function mailboxPage(main, { args }) {
  const { folders } = await api.get("/v1/folders");
  const folderId = args[0] || "inbox";
  const current = folders.find((f) => f.id === folderId) || folders[0];
  const list = h("div", { class: "messages" });
  const view = h("section", { class: "message-view", "aria-label": t("mail.message") });
  const folderNav = h("nav", { class: "folders", "aria-label": t("mail.folders") }, folderItems(folders, current));
  const pick = () => clear(view, h("p", { class: "muted" }, t("mail.pick_message")));

  const open = async (message, row) => {
    for (const r of list.querySelectorAll(".row")) r.removeAttribute("aria-current");
    row.setAttribute("aria-current", "true");
    if (row.classList.contains("unread")) {
      row.classList.remove("unread");
      markedRead(folderNav, current.id);
    }
    await showMessage(view, message, { sourceLine });
  };
  const changed = async () => {
    const fresh = (await api.get("/v1/folders")).folders;
    clear(folderNav, folderItems(fresh, current));
    return fresh;
  };
  const box = messageList({ folders, current, open, changed, folderLabel, folderOptions, sourceIcon });
  box.whenClosed(pick);
  clear(
    main,
    h("h1", { tabindex: -1 }, t("mail.title"), " — ", folderLabel(current)),
    h("div", { class: "mailbox" }, folderNav, list, h("div", { class: "reading" }, box.actionsBar, view)),
  );
  pick();
  clear(list, box.column);
  await box.reload();
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
