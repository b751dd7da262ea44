// Admin: the tenant's IMAP server templates (name, host, port, SSL).
import * as api from "./api.js";
import { checkbox, clear, describe, errorBox, field, h, toast } from "./dom.js";
import { t } from "./i18n.js";
import { planGate } from "./plan.js";

export async function adminPage(main, ctx) {
  let templates;
  try {
    ({ templates } = await api.get("/v1/imap-templates"));
  } catch (e) {
    if (planGate(main, e, ctx.me, "nav.admin")) return;
    throw e;
  }
  const formArea = h("div");
  const rerender = () => adminPage(main, ctx);
  const rows = templates.map((x) =>
    h(
      "tr",
      { "data-template": x.id },
      h("td", {}, x.name),
      h("td", {}, x.host),
      h("td", { class: "num" }, String(x.port)),
      h("td", {}, x.ssl ? t("common.yes") : t("common.no")),
      h(
        "td",
        {},
        h("button", { type: "button", class: "secondary", onclick: () => form(formArea, x, rerender) }, t("common.edit")),
        " ",
        h(
          "button",
          {
            type: "button",
            class: "danger",
            onclick: async () => {
              if (!window.confirm(t("admin.confirm_delete", { name: x.name }))) return;
              try {
                await api.del(`/v1/admin/imap-templates/${encodeURIComponent(x.id)}`);
                toast(t("admin.deleted"));
                await rerender();
              } catch (e) {
                toast(describe(e));
              }
            },
          },
          t("common.delete"),
        ),
      ),
    ),
  );
  const cols = ["admin.name", "admin.host", "admin.port", "admin.ssl", "admin.actions"];
  clear(
    main,
    h("h1", { tabindex: -1 }, t("admin.title")),
    h("p", {}, t("admin.intro")),
    h("button", { type: "button", onclick: () => form(formArea, null, rerender) }, t("admin.add")),
    formArea,
    templates.length
      ? h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(c))))), h("tbody", {}, rows)))
      : h("p", { class: "muted" }, t("admin.none")),
  );
}

function form(area, template, rerender) {
  const name = h("input", { type: "text", required: true, value: template?.name || "" });
  const host = h("input", { type: "text", required: true, value: template?.host || "" });
  const port = h("input", { type: "number", required: true, min: 1, max: 65535, value: template?.port ?? 993 });
  const ssl = checkbox("admin.ssl", template ? template.ssl : true);
  const status = h("div", { "aria-live": "polite" });
  const heading = h("h2", { tabindex: -1 }, template ? t("admin.edit_title", { name: template.name }) : t("admin.add"));
  clear(
    area,
    h(
      "form",
      {
        class: "card form",
        onsubmit: async (ev) => {
          ev.preventDefault();
          const body = { name: name.value.trim(), host: host.value.trim(), port: Number(port.value), ssl: ssl.querySelector("input").checked };
          try {
            if (template) await api.put(`/v1/admin/imap-templates/${encodeURIComponent(template.id)}`, body);
            else await api.post("/v1/admin/imap-templates", body);
            toast(t("admin.saved"));
            await rerender();
          } catch (e) {
            clear(status, errorBox(e));
          }
        },
      },
      heading,
      field("admin.name", name),
      h("div", { class: "row3" }, field("admin.host", host), field("admin.port", port), ssl),
      h("div", { class: "actions" }, h("button", { type: "submit" }, t("common.save")), h("button", { type: "button", class: "secondary", onclick: () => clear(area) }, t("common.cancel"))),
      status,
    ),
  );
  heading.focus();
}
