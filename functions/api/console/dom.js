// Building DOM without innerHTML: text is always text (mail subjects, names, server messages).
import { t, lang } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "style" && typeof value === "object") {
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, String(v));
    } else if (key === "class") {
      el.className = value;
    } else if (key in el && typeof value !== "string") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field: the label is tied to the control by id. */
export function field(labelKey, control, hintKey) {
  control.id ||= nextId();
  const hint = hintKey ? h("small", { class: "hint", id: `${control.id}-hint` }, t(hintKey)) : null;
  if (hint) control.setAttribute("aria-describedby", hint.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, t(labelKey)), control, hint);
}

export function checkbox(labelKey, checked, attrs = {}) {
  const input = h("input", { type: "checkbox", checked: Boolean(checked), ...attrs });
  input.id ||= nextId();
  return h("div", { class: "check" }, input, h("label", { for: input.id }, t(labelKey)));
}

export function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = Number(n);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function when(iso) {
  if (!iso) return t("common.never");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(lang() === "ja" ? "ja-JP" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "short",
  }).format(d);
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return t("common.unknown");
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const min = Math.floor((s % 3600) / 60);
  if (d) return t("common.duration_dh", { d, h: hr });
  if (hr) return t("common.duration_hm", { h: hr, m: min });
  if (min) return t("common.duration_ms", { m: min, s: s % 60 });
  return t("common.duration_s", { s });
}

let toastTimer = null;
export function toast(message) {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), 6000);
}

/** An alert box for an error (role=alert, so screen readers announce it). */
export function errorBox(err) {
  return h("p", { class: "error", role: "alert" }, describe(err));
}

/**
 * An error in the user's language: the console's words for a known code, then the server's
 * own words in brackets (the server says them in the console's language, api.js sends
 * Accept-Language). Errors the console makes itself carry the bare code as their message,
 * which adds nothing; words stored before the server spoke Japanese are left out of the
 * Japanese console rather than shown as an English sentence inside Japanese.
 */
export function describe(err) {
  if (!err) return "";
  const code = err.code || "";
  const known = t(`error.${code}`, {}, null);
  const said = err.message && err.message !== code ? err.message : "";
  const english = lang() === "ja" && said && !/[\u3000-\u30ff\u4e00-\u9fff]/.test(said);
  if (known && (!said || english || code === "plan_required")) return known;
  if (known) return lang() === "ja" ? `${known}（${said}）` : `${known} (${said})`;
  return said || code || String(err);
}

export function progress(percent, labelText) {
  const value = Math.max(0, Math.min(100, Math.round(percent || 0)));
  return h(
    "div",
    { class: "progress" },
    h("progress", { max: 100, value, "aria-label": labelText }),
    h("span", { class: "pct" }, `${value}%`),
  );
}
