// Upload .eml files: choose a folder, drop or pick files, a progress bar per file, each result.
import * as api from "./api.js";
import { bytes, checkbox, clear, describe, errorBox, field, h, progress } from "./dom.js";
import { t } from "./i18n.js";
import { folderOptions } from "./page-mailbox.js";
import { lacksFeature, planGate } from "./plan.js";

const POLL_MS = 700;
const BATCH_FILES = 100;

export async function uploadPage(main, ctx) {
  if (lacksFeature(main, ctx.me, "eml_upload", "upload.title")) return null;
  const { folders } = await api.get("/v1/folders");
  const folder = h("select", { id: "upload-folder" }, folderOptions(folders, "inbox"));
  const rules = checkbox("upload.apply_rules", false);
  const picker = h("input", { type: "file", multiple: true, accept: ".eml,message/rfc822", id: "upload-files", class: "sr-only" });
  const results = h("div", { class: "upload-results" });
  const timers = new Set();
  const drop = h(
    "div",
    { class: "dropzone", id: "dropzone", tabindex: 0, role: "button", "aria-describedby": "dropzone-hint" },
    h("strong", {}, t("upload.drop")),
    h("span", { id: "dropzone-hint" }, t("upload.drop_hint")),
    h("span", { class: "pick", "aria-hidden": "true" }, t("upload.pick")),
  );
  const choose = () => picker.click();
  drop.addEventListener("click", choose);
  drop.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      choose();
    }
  });
  drop.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  const go = (files) => {
    drop.classList.remove("over");
    if (!files.length) return;
    const options = { folder_id: folder.value, apply_rules: rules.querySelector("input").checked };
    uploadAll(main, ctx, results, [...files], options, timers);
  };
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    go(ev.dataTransfer.files);
  });
  picker.addEventListener("change", () => {
    go(picker.files);
    picker.value = "";
  });
  clear(
    main,
    h("h1", { tabindex: -1 }, t("upload.title")),
    h("p", {}, t("upload.intro")),
    h("div", { class: "card form" }, field("upload.folder", folder), rules, h("label", { for: picker.id, class: "sr-only" }, t("upload.pick")), picker, drop),
    results,
  );
  return () => timers.forEach((id) => clearTimeout(id));
}

function fileRow(file) {
  const bar = progress(0, t("upload.progress_of", { name: file.name }));
  const status = h("span", { class: "status", "data-status": "waiting" }, t("upload.waiting"));
  const row = h("li", { class: "file", "data-file": file.name }, h("span", { class: "name" }, file.name), h("span", { class: "size" }, bytes(file.size)), bar, status);
  return { row, bar, status };
}

function setProgress(bar, percent) {
  const value = Math.round(percent);
  bar.querySelector("progress").value = value;
  bar.querySelector(".pct").textContent = `${value}%`;
}

function setStatus(status, kind, text) {
  status.dataset.status = kind;
  status.className = `status status-${kind}`;
  status.textContent = text;
}

function describeFile(entry) {
  if (entry.status === "stored") return t("upload.stored");
  if (entry.status === "duplicate") return t("upload.duplicate");
  if (entry.status === "rejected") {
    const reason = t(`reject.${entry.reason}`, {}, null);
    return t("upload.rejected", { why: reason || entry.message || entry.reason || "" });
  }
  return t("upload.processing");
}

/** POST one file to its presigned URL; XHR (not fetch) for upload progress. */
function send(file, post, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(post.fields)) form.append(k, v);
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", post.url);
    xhr.upload.addEventListener("progress", (ev) => ev.lengthComputable && onProgress((100 * ev.loaded) / ev.total));
    xhr.addEventListener("load", () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`HTTP ${xhr.status}`))));
    xhr.addEventListener("error", () => reject(new Error(t("upload.network_error"))));
    xhr.send(form);
  });
}

async function uploadAll(main, ctx, results, files, options, timers) {
  const summary = h("p", { class: "summary", "aria-live": "polite", id: "upload-summary" });
  const list = h("ul", { class: "files", "aria-label": t("upload.files") });
  const rows = new Map();
  for (const file of files) {
    const r = fileRow(file);
    rows.set(file, r);
    list.append(r.row);
  }
  results.prepend(h("section", { class: "card batch" }, h("h2", {}, t("upload.batch", { n: files.length })), summary, list));
  for (let i = 0; i < files.length; i += BATCH_FILES) {
    const chunk = files.slice(i, i + BATCH_FILES);
    let batch;
    try {
      batch = await api.post("/v1/uploads", { ...options, files: chunk.map((f) => ({ name: f.name, size: f.size })) });
    } catch (e) {
      if (planGate(main, e, ctx.me, "upload.title")) return;
      for (const f of chunk) setStatus(rows.get(f).status, "rejected", describe(e));
      continue;
    }
    await Promise.all(
      batch.files.map(async (entry) => {
        const file = chunk[entry.index ?? batch.files.indexOf(entry)];
        const r = rows.get(file);
        if (!entry.upload) {
          setStatus(r.status, entry.status, describeFile(entry));
          return;
        }
        setStatus(r.status, "sending", t("upload.sending"));
        try {
          await send(file, entry.upload, (p) => setProgress(r.bar, p));
          setProgress(r.bar, 100);
          setStatus(r.status, "pending", t("upload.processing"));
        } catch (e) {
          setStatus(r.status, "failed", t("upload.send_failed", { why: e.message }));
        }
      }),
    );
    await watch(batch.id, chunk, rows, summary, timers);
  }
}

function watch(batchId, chunk, rows, summary, timers) {
  return new Promise((resolve) => {
    const poll = async () => {
      let state;
      try {
        state = await api.get(`/v1/uploads/${encodeURIComponent(batchId)}`);
      } catch (e) {
        summary.replaceChildren(errorBox(e));
        resolve();
        return;
      }
      for (const entry of state.files) {
        const file = chunk[entry.index];
        const r = file && rows.get(file);
        if (r && r.status.dataset.status !== "failed" && entry.status !== "pending") setStatus(r.status, entry.status, describeFile(entry));
      }
      const c = state.counts || {};
      summary.textContent = t("upload.summary", { stored: c.stored || 0, duplicate: c.duplicate || 0, rejected: c.rejected || 0, pending: c.pending || 0 });
      const waiting = state.files.filter((e) => e.status === "pending" && rows.get(chunk[e.index])?.status.dataset.status !== "failed");
      if (state.done || !waiting.length) {
        resolve();
        return;
      }
      const id = setTimeout(poll, POLL_MS);
      timers.add(id);
    };
    poll();
  });
}
