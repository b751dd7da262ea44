// One dictionary per language (i18n-en.json, i18n-ja.json), chosen from the browser's language
// unless the user picked one; t() looks a key up and fills {placeholders}.
const LANGS = ["en", "ja"];
const STORE = "mailport.lang";
const dictionaries = {};
let current = "en";

export function preferredLanguage() {
  const chosen = localStorage.getItem(STORE);
  if (LANGS.includes(chosen)) return chosen;
  const browser = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return browser.toLowerCase().startsWith("ja") ? "ja" : "en";
}

export async function loadLanguage(code) {
  if (!dictionaries[code]) {
    const response = await fetch(`i18n-${code}.json`);
    dictionaries[code] = await response.json();
  }
  current = code;
  document.documentElement.lang = code;
}

export function rememberLanguage(code) {
  localStorage.setItem(STORE, code);
}

export function lang() {
  return current;
}

/** The text for key; `fallback` when the key is unknown (undefined → the key itself). */
export function t(key, params = {}, fallback) {
  const text = dictionaries[current]?.[key];
  if (text === undefined) return fallback === undefined ? key : fallback;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** Static markup: data-i18n sets the text, data-i18n-aria-label the accessible name. */
export function translateStatic(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
  document.title = t("app.title");
}

// A migration job's state as people read it: a pause says whether the provider asked for it.
export function stateKey(job) {
  return job.state === "paused" && job.paused_by === "provider" ? "state.paused_provider" : `state.${job.state}`;
}
