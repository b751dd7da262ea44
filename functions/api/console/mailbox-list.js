// The mailbox's message list: search (this folder or all folders), pages ("Show more" with
// the cursor), selection with checkboxes and a toolbar acting on it, and the same actions for
// the open message. Kept out of page-mailbox.js so the message viewer can change on its own.
import * as api from "./api.js";
import { clear, describe, errorBox, h, nextId, toast, when } from "./dom.js";
import { t } from "./i18n.js";

const PAGE = "50";
const TRASH = "trash";
// Changes go out a few at a time: a selection of a whole page is 50 requests.
const AT_ONCE = 5;

function addresses(list) {
  return (list || []).map((a) => (a.name ? `${a.name} <${a.email}>` : a.email)).join(", ");
}

/** Each message's change, a few at a time; the ids that failed, with the first error. */
async function each(ids, change) {
  const failed = [];
  let error = null;
  const queue = [...ids];
  const worker = async () => {
    while (queue.length) {
      const id = queue.shift();
      try {
        await change(id);
      } catch (e) {
        failed.push(id);
        error ||= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(AT_ONCE, ids.length) }, worker));
  return { failed, error };
}

const enc = encodeURIComponent;

/** What an action does to one message, and what it says when done. */
const ACTIONS = {
  read: { body: { flags: { seen: true } }, done: "box.done_read" },
  unread: { body: { flags: { seen: false } }, done: "box.done_unread" },
  flag: { body: { flags: { flagged: true } }, done: "box.done_flag" },
  unflag: { body: { flags: { flagged: false } }, done: "box.done_unflag" },
};

/**
 * The list column and the open message's action bar. `folders` and `current` as the page has
 * them; `open(message, row)` shows a message; `changed()` reloads the folder list (counts)
 * and answers the folders anew.
 */
export function messageList({ folders, current, open, changed, folderLabel, folderOptions, sourceIcon }) {
  let known = folders;
  let search = null; // {q, scope, since, before} while searching
  let cursor = null;
  const loaded = new Map(); // id -> {message, li}
  const selected = new Set();
  let opened = null; // the open message's id
  const inTrash = () => current.id === TRASH && !(search && search.scope === "all");

  // ---------------------------------------------------------------- search form
  const q = h("input", { type: "search", name: "q", maxlength: 200, autocomplete: "off" });
  q.id = nextId("q");
  const scope = h(
    "select",
    { name: "scope" },
    h("option", { value: "folder" }, t("box.scope_folder")),
    h("option", { value: "all" }, t("box.scope_all")),
  );
  scope.id = nextId("scope");
  const since = h("input", { type: "date", name: "since" });
  since.id = nextId("since");
  const before = h("input", { type: "date", name: "before" });
  before.id = nextId("before");
  const hint = h("small", { class: "hint", id: nextId("hint") }, t("box.search_hint"));
  q.setAttribute("aria-describedby", hint.id);
  const clearSearch = h("button", { type: "button", class: "secondary", hidden: true }, t("box.clear_search"));
  const form = h(
    "form",
    { class: "mail-search", role: "search", "aria-label": t("box.search_label") },
    h("div", { class: "field q" }, h("label", { for: q.id }, t("box.search_label")), q, hint),
    h("div", { class: "field" }, h("label", { for: scope.id }, t("box.scope")), scope),
    h(
      "details",
      { class: "dates" },
      h("summary", {}, t("box.dates")),
      h(
        "div",
        { class: "date-fields" },
        h("div", { class: "field" }, h("label", { for: since.id }, t("box.since")), since),
        h("div", { class: "field" }, h("label", { for: before.id }, t("box.before")), before),
      ),
    ),
    h("div", { class: "buttons" }, h("button", { type: "submit" }, t("box.search")), clearSearch),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const wanted = { q: q.value.trim(), scope: scope.value, since: since.value, before: before.value };
    search = wanted.q || wanted.since || wanted.before || wanted.scope === "all" ? wanted : null;
    clearSearch.hidden = !search;
    reload();
  });
  clearSearch.addEventListener("click", () => {
    form.reset();
    search = null;
    clearSearch.hidden = true;
    reload();
    q.focus();
  });

  // ---------------------------------------------------------------- toolbar
  const selectAll = h("input", { type: "checkbox", class: "select-all" });
  selectAll.id = nextId("all");
  const count = h("span", { class: "selected-count", "aria-live": "polite" });
  const button = (key, action, attrs = {}) => {
    const b = h("button", { type: "button", class: "secondary", "data-action": action, ...attrs }, t(key));
    b.addEventListener("click", () => act(action, [...selected]));
    return b;
  };
  const moveTo = h("select", { class: "move-to", "aria-label": t("box.move_to") });
  // Drawn again with the folders after each action: the folder chosen stays chosen.
  const fillMoveTo = () => {
    const chosen = moveTo.value || (current.id === "inbox" ? null : "inbox");
    clear(moveTo, folderOptions(known, chosen));
  };
  fillMoveTo();
  const buttons = [
    button("box.mark_read", "read"),
    button("box.mark_unread", "unread"),
    button("box.flag", "flag"),
    button("box.unflag", "unflag"),
    moveTo,
    button("box.move", "move"),
    inTrash() ? button("box.delete_forever", "forget", { class: "danger" }) : button("box.delete", "trash"),
  ];
  const toolbar = h(
    "div",
    { class: "mail-toolbar", role: "toolbar", "aria-label": t("box.toolbar") },
    h("span", { class: "check" }, selectAll, h("label", { for: selectAll.id }, t("box.select_all"))),
    count,
    buttons,
  );
  selectAll.addEventListener("change", () => {
    for (const [id, { li }] of loaded) {
      li.querySelector("input[type=checkbox]").checked = selectAll.checked;
      if (selectAll.checked) selected.add(id);
      else selected.delete(id);
    }
    selectionChanged();
  });
  const selectionChanged = () => {
    count.textContent = selected.size ? t("box.selected", { n: selected.size }) : "";
    for (const b of buttons) b.disabled = selected.size === 0;
    selectAll.checked = loaded.size > 0 && selected.size === loaded.size;
    selectAll.indeterminate = selected.size > 0 && selected.size < loaded.size;
  };

  // ---------------------------------------------------------------- the list
  const status = h("p", { class: "list-status muted", "aria-live": "polite" });
  const table = h("ul", { class: "message-list", "aria-label": t("mail.messages") });
  const more = h("button", { type: "button", class: "secondary more", hidden: true }, t("mail.more"));
  const column = h("div", {}, form, toolbar, status, table, more);
  // A shortcut as web mail has it: "x" on a row (or its checkbox) selects or unselects it.
  table.addEventListener("keydown", (event) => {
    if (event.key !== "x" || event.ctrlKey || event.metaKey || event.altKey) return;
    const check = event.target.closest("li")?.querySelector("input.pick");
    if (!check) return;
    event.preventDefault();
    check.click();
  });

  const rowFor = (m) => {
    const check = h("input", { type: "checkbox", class: "pick", "aria-label": t("box.select_one", { subject: m.subject || t("mail.no_subject") }) });
    check.addEventListener("change", () => {
      if (check.checked) selected.add(m.id);
      else selected.delete(m.id);
      selectionChanged();
    });
    const row = h(
      "button",
      { type: "button", class: rowClass(m), "data-message": m.id, "aria-keyshortcuts": "x" },
      sourceIcon(m),
      h("span", { class: "from" }, addresses(m.from) || t("mail.no_sender")),
      h("span", { class: "subject" }, m.subject || t("mail.no_subject")),
      h(
        "span",
        { class: "date" },
        h("span", { class: "flag", hidden: !m.flags?.flagged, title: t("box.flagged") }, h("span", { "aria-hidden": "true" }, "★"), h("span", { class: "sr-only" }, t("box.flagged"))),
        h("span", { class: "sr-only state-unread", hidden: Boolean(m.flags?.seen) }, t("box.unread")),
        " ",
        when(m.date || m.received_at),
      ),
      search && search.scope === "all" ? h("span", { class: "in-folder" }, t("box.in_folder", { folder: nameOf(m.folder_id) })) : null,
    );
    row.addEventListener("click", async () => {
      opened = m.id;
      const entry = loaded.get(m.id);
      if (entry) entry.message = { ...entry.message, flags: { ...entry.message.flags, seen: true } };
      await open(m, row);
      if (entry) refreshRow(m.id);
      showActions();
    });
    return h("li", { "data-message": m.id }, check, row);
  };
  const rowClass = (m) => `row${m.flags?.seen ? "" : " unread"}${m.flags?.flagged ? " flagged" : ""}`;
  const nameOf = (folderId) => {
    const f = known.find((x) => x.id === folderId);
    return f ? folderLabel(f) : folderId;
  };
  const refreshRow = (id) => {
    const { message, li } = loaded.get(id);
    const row = li.querySelector(".row");
    const wasCurrent = row.getAttribute("aria-current");
    row.className = rowClass(message);
    if (wasCurrent) row.setAttribute("aria-current", wasCurrent);
    li.querySelector(".flag").hidden = !message.flags?.flagged;
    li.querySelector(".state-unread").hidden = Boolean(message.flags?.seen);
  };

  const path = () => {
    const params = new URLSearchParams({ limit: PAGE });
    if (cursor) params.set("cursor", cursor);
    if (search) {
      if (search.q) params.set("q", search.q);
      if (search.since) params.set("since", search.since);
      if (search.before) params.set("before", search.before);
      if (search.scope === "all") return `/v1/messages?${params}`;
    }
    return `/v1/folders/${enc(current.id)}/messages?${params}`;
  };

  const loadPage = async () => {
    more.disabled = true;
    try {
      const page = await api.get(path());
      for (const m of page.messages) {
        if (loaded.has(m.id)) continue;
        const li = rowFor(m);
        loaded.set(m.id, { message: m, li });
        table.append(li);
      }
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      sayStatus();
    } catch (e) {
      clear(status, errorBox(e));
    } finally {
      more.disabled = false;
      selectionChanged();
    }
  };
  const sayStatus = () => {
    status.classList.remove("error");
    if (!search) {
      clear(status, loaded.size ? "" : t("mail.empty"));
    } else if (!loaded.size) {
      clear(status, cursor ? t("box.partial") : t("box.no_results"));
    } else {
      clear(status, t(cursor ? "box.found_more" : "box.found", { n: loaded.size }));
    }
  };
  more.addEventListener("click", async () => {
    const next = table.children.length;
    await loadPage();
    // Keyboard users go on where the new page starts.
    table.children[next]?.querySelector(".row")?.focus();
  });

  async function reload() {
    cursor = null;
    loaded.clear();
    selected.clear();
    table.replaceChildren();
    await loadPage();
  }

  // ---------------------------------------------------------------- acting
  async function act(action, ids, target, asking = "box.confirm_delete_forever") {
    if (!ids.length) return;
    if (action === "trash") {
      // Searching all folders, some may be in Trash already: deleting those again deletes
      // them for good, as in Trash itself (after asking); the rest go to Trash.
      const trashed = ids.filter((id) => loaded.get(id)?.message.folder_id === TRASH);
      if (trashed.length) {
        const rest = ids.filter((id) => !trashed.includes(id));
        if (rest.length) await act("trash", rest);
        await act("forget", trashed, null, "box.confirm_delete_trashed");
        return;
      }
    }
    let result;
    let doneKey;
    let folder = "";
    if (ACTIONS[action]) {
      const { body, done } = ACTIONS[action];
      result = await each(ids, async (id) => {
        const message = await api.patch(`/v1/messages/${enc(id)}`, body);
        const entry = loaded.get(id);
        if (entry) {
          entry.message = { ...entry.message, flags: message.flags };
          refreshRow(id);
        }
      });
      doneKey = done;
    } else if (action === "forget") {
      if (!window.confirm(t(asking, { n: ids.length }))) return;
      result = await each(ids, (id) => api.del(`/v1/messages/${enc(id)}`));
      doneKey = "box.done_deleted";
    } else {
      const to = action === "trash" ? TRASH : target || moveTo.value;
      folder = nameOf(to);
      // Those already there stay as they are (and in the list).
      ids = ids.filter((id) => loaded.get(id)?.message.folder_id !== to);
      if (!ids.length) return;
      result = await each(ids, (id) => api.patch(`/v1/messages/${enc(id)}`, { folder_id: to }));
      doneKey = action === "trash" ? "box.done_trash" : "box.done_move";
    }
    const gone = action === "forget" || action === "trash" || action === "move";
    const succeeded = ids.filter((id) => !result.failed.includes(id));
    // Marked messages stay selected (to flag them next, say); moved or deleted ones go.
    for (const id of gone ? succeeded : []) {
      const entry = loaded.get(id);
      selected.delete(id);
      if (!entry) continue;
      entry.li.remove();
      loaded.delete(id);
    }
    if (gone && opened && succeeded.includes(opened)) closeOpened();
    selectionChanged();
    sayStatus();
    if (succeeded.length) toast(t(doneKey, { n: succeeded.length, folder }));
    if (result.failed.length) {
      clear(status, errorBox({ message: t("box.failed", { n: result.failed.length, why: describe(result.error) }) }));
    }
    known = (await changed()) || known;
    fillMoveTo();
  }

  // ---------------------------------------------------------------- the open message
  const actionsBar = h("div", { class: "mail-toolbar open-actions", role: "toolbar", "aria-label": t("box.message_actions"), hidden: true });
  const closeOpened = () => {
    opened = null;
    actionsBar.hidden = true;
    actionsBar.replaceChildren();
    onClosed();
  };
  let onClosed = () => {};
  const showActions = () => {
    const entry = loaded.get(opened);
    if (!entry) return;
    const m = entry.message;
    const one = (key, action) => {
      const b = h("button", { type: "button", class: "secondary", "data-action": action }, t(key));
      b.addEventListener("click", async () => {
        await act(action, [m.id], action === "move" ? target.value : undefined);
        if (opened) showActions();
      });
      return b;
    };
    const target = h("select", { class: "move-to", "aria-label": t("box.move_to") }, folderOptions(known, m.folder_id));
    const trashed = m.folder_id === TRASH;
    clear(
      actionsBar,
      m.flags?.seen ? one("box.mark_unread", "unread") : one("box.mark_read", "read"),
      m.flags?.flagged ? one("box.unflag", "unflag") : one("box.flag", "flag"),
      target,
      one("box.move", "move"),
      trashed ? one("box.delete_forever", "forget") : one("box.delete", "trash"),
    );
    actionsBar.hidden = false;
  };

  return {
    column,
    actionsBar,
    reload,
    whenClosed(callback) {
      onClosed = callback;
    },
  };
}
