// One message, as GET /v1/messages/{id}/content reads it on the server: headers, the text or
// the sanitised HTML (in the charset its bytes are really in), attachments. The browser never
// downloads the raw message to show it (it may be 49 MB); only "download the original" does.
//
// The HTML was sanitised by the server (no scripts, event handlers, forms; remote content
// blocked unless asked for). It is still shown as untrusted: in an iframe sandboxed without
// allow-scripts (an opaque origin: it can't reach the console or its token), under its own
// CSP, which the console's own (inherited by srcdoc documents) narrows further.
import * as api from "./api.js";
import { bytes, clear, errorBox, h, nextId, when } from "./dom.js";
import { t } from "./i18n.js";

// The names a person knows these charsets by (the API's choices are lower case).
const CHARSET_NAMES = {
  "utf-8": "UTF-8",
  "iso-2022-jp": "ISO-2022-JP",
  shift_jis: "Shift_JIS",
  "euc-jp": "EUC-JP",
  "iso-8859-1": "ISO-8859-1",
  "windows-1252": "Windows-1252",
  "us-ascii": "US-ASCII",
};
const INLINE_IMAGE_MAX = 2 * 1024 * 1024; // bytes of one cid: image fetched to show inline
// Over this the API can't answer the bytes itself (Lambda answers at most 6 MB, base64): it
// hands out a link straight to the store instead (GET …/link). mailbox.py's MAX_PART_BYTES.
const DIRECT_MAX = 4_000_000;
const INLINE_IMAGES_MAX = 30;

const charsetName = (name) => CHARSET_NAMES[name] || name;
const addresses = (list) => (list || []).map((a) => (a.name ? `${a.name} <${a.email}>` : a.email)).join(", ");

/** Show `summary` (a message of the list) in `view`; `sourceLine(message)` says where it came from. */
export async function showMessage(view, summary, { sourceLine } = {}) {
  clear(view, h("p", { class: "muted" }, t("app.loading")));
  try {
    const message = await api.get(`/v1/messages/${encodeURIComponent(summary.id)}`);
    if (!message.flags?.seen) {
      await api.patch(`/v1/messages/${encodeURIComponent(message.id)}`, { flags: { seen: true } }).catch(() => {});
    }
    await render(view, message, { charset: "", remote: false, asText: false }, sourceLine);
    view.querySelector("h2").focus(); // keyboard and screen-reader users land on the message
  } catch (e) {
    clear(view, errorBox(e));
  }
}

function contentPath(id, options) {
  const query = new URLSearchParams();
  if (options.charset) query.set("charset", options.charset);
  if (options.remote) query.set("remote", "allow");
  const tail = query.toString();
  return `/v1/messages/${encodeURIComponent(id)}/content${tail ? `?${tail}` : ""}`;
}

async function render(view, message, options, sourceLine) {
  const content = await api.get(contentPath(message.id, options));
  const rerender = async (changes, focusSelector) => {
    const busy = h("p", { class: "muted", role: "status" }, t("app.loading"));
    view.querySelector(".viewer-body")?.replaceChildren(busy);
    try {
      await render(view, message, { ...options, ...changes }, sourceLine);
      view.querySelector(focusSelector)?.focus();
    } catch (e) {
      clear(view, errorBox(e));
    }
  };
  const headers = content.headers;
  const rows = [
    ["mail.from", addresses(headers.from)],
    ["mail.to", addresses(headers.to)],
    ["mail.cc", addresses(headers.cc)],
    ["mail.date", when(headers.date || message.received_at)],
    ["mail.size", bytes(message.size)],
  ].filter(([, v]) => v);
  const showHtml = content.html !== null && !(options.asText && content.text !== null);
  const body = h("div", { class: "viewer-body" });
  clear(
    view,
    h("h2", { tabindex: -1 }, headers.subject || message.subject || t("mail.no_subject")),
    sourceLine ? sourceLine(message) : null,
    h("dl", { class: "headers" }, rows.map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)])),
    tools(message, content, options, rerender, showHtml),
    content.remote_blocked && !options.remote ? remoteBar(content.remote_blocked, rerender) : null,
    content.truncated ? h("p", { class: "notice", "data-viewer": "truncated" }, t("viewer.truncated")) : null,
    body,
    attachments(message, content),
    source(message),
  );
  if (showHtml) {
    body.append(await htmlFrame(message, content, options));
  } else if (content.text !== null) {
    body.append(h("pre", { class: "body", "data-viewer": "text" }, content.text));
  } else {
    body.append(h("p", { class: "muted" }, t("viewer.no_body")));
  }
}

/** The encoding choice, text/HTML switch and the original's download. */
function tools(message, content, options, rerender, showHtml) {
  const out = h("div", { class: "viewer-tools" });
  if (content.charset) {
    const used = content.charset;
    const select = h(
      "select",
      { id: nextId("charset"), "data-viewer": "charset" },
      h("option", { value: "", selected: !options.charset }, t("viewer.charset_auto", { name: charsetName(used.used) })),
      used.choices.map((c) => h("option", { value: c, selected: options.charset === c }, charsetName(c))),
    );
    select.addEventListener("change", () => rerender({ charset: select.value }, "[data-viewer=charset]"));
    out.append(h("label", { for: select.id }, t("viewer.charset")), select);
    if (used.detected && !options.charset) {
      const said = used.label ? t("viewer.charset_detected_label", { label: used.label }) : t("viewer.charset_detected");
      out.append(h("small", { class: "hint", "data-viewer": "detected" }, said));
    }
  }
  if (content.html !== null && content.text !== null) {
    const key = showHtml ? "viewer.show_text" : "viewer.show_html";
    out.append(
      h("button", { type: "button", class: "secondary", "data-viewer": "switch", onclick: () => rerender({ asText: showHtml }, "[data-viewer=switch]") }, t(key)),
    );
  }
  out.append(
    h(
      "button",
      {
        type: "button",
        class: "secondary",
        "data-viewer": "download-raw",
        onclick: (e) => download(e.currentTarget, `/v1/messages/${encodeURIComponent(message.id)}/raw`, `${message.id}.eml`, "message/rfc822", message.size),
      },
      t("viewer.download_original"),
    ),
  );
  return out;
}

function remoteBar(count, rerender) {
  return h(
    "div",
    { class: "notice viewer-remote", role: "status", "data-viewer": "remote-blocked" },
    h("span", {}, t("viewer.remote_blocked", { n: count })),
    " ",
    h("button", { type: "button", class: "secondary", "data-viewer": "show-remote", onclick: () => rerender({ remote: true }, "h2") }, t("viewer.remote_show")),
  );
}

/** The sanitised HTML in a sandboxed iframe; cid: images fetched with the token, as data: URLs. */
async function htmlFrame(message, content, options) {
  const doc = new DOMParser().parseFromString(content.html, "text/html"); // scripts never run here
  const parts = new Map(content.parts.map((p) => [partPath(message.id, p.id), p]));
  const images = [...doc.querySelectorAll("img[src]")].filter((img) => parts.has(img.getAttribute("src")));
  await Promise.all(
    images.slice(0, INLINE_IMAGES_MAX).map(async (img) => {
      const part = parts.get(img.getAttribute("src"));
      if (part.size > INLINE_IMAGE_MAX) return img.removeAttribute("src");
      try {
        const blob = await (await api.response(img.getAttribute("src"), "application/octet-stream")).blob();
        img.setAttribute("src", await dataUrl(new Blob([blob], { type: part.content_type })));
      } catch {
        img.removeAttribute("src");
      }
    }),
  );
  const apiOrigin = new URL(api.url("/")).origin;
  const imagesFrom = options.remote ? `data: ${apiOrigin} https: http:` : `data: ${apiOrigin}`;
  const csp = `default-src 'none'; img-src ${imagesFrom}; style-src 'unsafe-inline'`;
  const page =
    "<!doctype html><html><head><meta charset=\"utf-8\">" +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">` +
    "<style>body{font-family:system-ui,\"Noto Sans CJK JP\",sans-serif;margin:.5rem;overflow-wrap:anywhere}img{max-width:100%;height:auto}</style>" +
    `</head><body>${doc.body.innerHTML}</body></html>`;
  // allow-popups: links (target=_blank, rel=noopener) open in a new tab, outside the sandbox.
  return h("iframe", {
    class: "viewer-html",
    "data-viewer": "html",
    title: t("viewer.html_frame"),
    sandbox: "allow-popups allow-popups-to-escape-sandbox",
    referrerpolicy: "no-referrer",
    srcdoc: page,
  });
}

function attachments(message, content) {
  const shown = content.parts.filter(
    (p) => p.disposition === "attachment" || p.filename || !(content.html || "").includes(partPath(message.id, p.id)),
  );
  if (!shown.length) return null;
  const labelId = nextId("attachments");
  return h(
    "section",
    { class: "viewer-attachments", "aria-labelledby": labelId },
    h("h3", { id: labelId }, t("mail.attachments")),
    h(
      "ul",
      {},
      shown.map((p) => {
        const name = p.filename || t("viewer.unnamed_part", { id: p.id });
        return h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "link",
              "data-part": p.id,
              "aria-label": t("viewer.download_part", { name }),
              onclick: (e) => download(e.currentTarget, partPath(message.id, p.id), name, p.content_type, p.size),
            },
            name,
          ),
          h("span", { class: "muted" }, ` ${p.content_type}, ${bytes(p.size)}`),
        );
      }),
    ),
  );
}

/** The original message as text, fetched only when opened (it may be large). */
function source(message) {
  const pre = h("pre", { class: "raw" });
  const details = h("details", {}, h("summary", {}, t("mail.show_source")), pre);
  details.addEventListener("toggle", async () => {
    if (!details.open || pre.dataset.loaded) return;
    pre.dataset.loaded = "1";
    pre.textContent = t("app.loading");
    try {
      const raw = await api.raw(`/v1/messages/${encodeURIComponent(message.id)}/raw`);
      pre.textContent = new TextDecoder("utf-8", { fatal: false }).decode(raw);
    } catch (e) {
      clear(pre, errorBox(e));
    }
  });
  return details;
}

const partPath = (id, partId) => `/v1/messages/${encodeURIComponent(id)}/parts/${partId}`;

/** Fetch `path` with the token (the API needs the Authorization header) and save it as `name`. */
async function download(button, path, name, type, size) {
  button.disabled = true;
  try {
    if (size > DIRECT_MAX) {
      // The store answers it as an attachment under its name: the page stays where it is.
      const { url } = await api.get(`${path}/link`);
      const link = h("a", { href: url, hidden: true, rel: "noopener" });
      document.body.append(link);
      link.click();
      link.remove();
      return;
    }
    const accept = type === "message/rfc822" ? type : "application/octet-stream";
    const blob = await (await api.response(path, accept)).blob();
    const href = URL.createObjectURL(new Blob([blob], { type: type || "application/octet-stream" }));
    const link = h("a", { href, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(href), 60_000);
  } catch (e) {
    button.after(errorBox(e));
  } finally {
    button.disabled = false;
  }
}

function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}
