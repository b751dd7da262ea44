// Admin, local stack only: what the functions would have sent to CloudWatch (GET
// /v1/local/metrics), a table per import path (pop, imap, upload), then the rest.
import * as api from "./api.js";
import { clear, errorBox, h } from "./dom.js";
import { lang, t } from "./i18n.js";

const PATHS = ["pop", "imap", "upload"];

export async function metricsPage(main) {
  const heading = h("h1", { tabindex: -1 }, t("metrics.title"));
  const area = h("div", { "aria-live": "polite" });
  const refresh = h("button", { type: "button", class: "secondary", id: "refresh-metrics" }, t("metrics.refresh"));
  const load = async () => {
    refresh.disabled = true;
    try {
      const metrics = await api.localMetrics();
      clear(area, metrics === null ? h("p", { class: "notice" }, t("metrics.unavailable")) : tables(metrics));
    } catch (e) {
      clear(area, errorBox(e));
    }
    refresh.disabled = false;
  };
  refresh.addEventListener("click", load);
  clear(main, heading, h("p", {}, t("metrics.intro")), h("div", { class: "actions" }, refresh), area);
  await load();
}

function tables(metrics) {
  if (!metrics.length) return h("p", { class: "muted" }, t("metrics.none"));
  const groups = new Map();
  for (const m of metrics) {
    const path = m.dimensions?.path || "";
    if (!groups.has(path)) groups.set(path, []);
    groups.get(path).push(m);
  }
  const order = [...PATHS.filter((p) => groups.has(p)), ...[...groups.keys()].filter((p) => !PATHS.includes(p)).sort()];
  return order.map((path) => group(path, groups.get(path)));
}

function group(path, rows) {
  const id = `metrics-${path || "other"}`;
  const title = path ? t(`metrics.path_${path}`, {}, t("metrics.path_named", { path })) : t("metrics.path_none");
  const cols = ["metrics.name", "metrics.dimensions", "metrics.sum", "metrics.count", "metrics.min", "metrics.max"];
  const number = new Intl.NumberFormat(lang() === "ja" ? "ja-JP" : "en-GB", { maximumFractionDigits: 3 });
  return h(
    "section",
    { class: "metrics-group", id, "data-path": path, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, title),
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
          rows.map((m) =>
            h(
              "tr",
              { "data-metric": m.name, "data-path": path },
              h("th", { scope: "row" }, m.name, m.unit && m.unit !== "None" ? h("span", { class: "muted" }, ` (${m.unit})`) : null),
              h("td", {}, Object.entries(m.dimensions || {}).map(([k, v]) => `${k}=${v}`).join(", ")),
              h("td", { class: "num", "data-stat": "sum" }, number.format(m.sum)),
              h("td", { class: "num", "data-stat": "count" }, number.format(m.count)),
              h("td", { class: "num", "data-stat": "min" }, number.format(m.min)),
              h("td", { class: "num", "data-stat": "max" }, number.format(m.max)),
            ),
          ),
        ),
      ),
    ),
  );
}
