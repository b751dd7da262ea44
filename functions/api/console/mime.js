// Just enough MIME to show a message's text: the first text/plain part (else text/html as
// text), its transfer encoding undone and its charset decoded. The full source stays available.
const MAX_DEPTH = 8;

function binaryString(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

function toBytes(text) {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

function split(entity) {
  const match = /\r?\n\r?\n/.exec(entity);
  const head = match ? entity.slice(0, match.index) : entity;
  const body = match ? entity.slice(match.index + match[0].length) : "";
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] ??= line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function param(value, name) {
  const m = new RegExp(`;\\s*${name}\\s*=\\s*("([^"]*)"|[^;\\s]+)`, "i").exec(value || "");
  return m ? (m[2] ?? m[1]) : null;
}

function decode(body, headers) {
  const cte = (headers["content-transfer-encoding"] || "").toLowerCase();
  let bytes;
  if (cte === "base64") {
    try {
      bytes = toBytes(atob(body.replace(/[^A-Za-z0-9+/=]/g, "")));
    } catch {
      bytes = toBytes(body);
    }
  } else if (cte === "quoted-printable") {
    bytes = toBytes(body.replace(/=\r?\n/g, "").replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))));
  } else {
    bytes = toBytes(body);
  }
  const charset = param(headers["content-type"], "charset") || "utf-8";
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return new TextDecoder("utf-8").decode(bytes);
  }
}

function find(entity, depth) {
  const { headers, body } = split(entity);
  const type = (headers["content-type"] || "text/plain").split(";")[0].trim().toLowerCase();
  if (type.startsWith("multipart/") && depth < MAX_DEPTH) {
    const boundary = param(headers["content-type"], "boundary");
    if (!boundary) return null;
    const parts = body.split(`--${boundary}`).slice(1);
    let html = null;
    for (const part of parts) {
      if (part.startsWith("--")) break;
      const found = find(part.replace(/^\r?\n/, ""), depth + 1);
      if (found?.type === "text/plain") return found;
      html ||= found;
    }
    return html;
  }
  if (type === "text/plain" || type === "text/html") return { type, text: decode(body, headers) };
  return null;
}

export function bodyText(bytes) {
  const found = find(binaryString(bytes), 0);
  if (!found) return "";
  if (found.type === "text/html") {
    const doc = new DOMParser().parseFromString(found.text, "text/html");
    return doc.body?.textContent?.trim() || "";
  }
  return found.text;
}
