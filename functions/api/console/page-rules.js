// Auto-sort rules: an ordered list; each rule has conditions (all/any) and actions.
import * as api from "./api.js";
import { checkbox, clear, errorBox, field, h, nextId, toast } from "./dom.js";
import { t } from "./i18n.js";
import { folderOptions } from "./page-mailbox.js";

const OPERATORS = {
  from: ["contains", "equals", "domain_is"],
  to: ["contains", "equals", "domain_is"],
  cc: ["contains", "equals", "domain_is"],
  subject: ["contains", "equals"],
  has_attachment: ["is"],
  size: ["greater_than", "less_than"],
};
const ACTIONS = ["move_to_folder", "mark_read", "flag", "move_to_trash"];

export async function rulesPage(main) {
  const [{ rules }, { folders }] = await Promise.all([api.get("/v1/rules"), api.get("/v1/folders")]);
  const state = rules.map((r) => structuredClone(r));
  const list = h("ul", { class: "rules", "aria-label": t("rules.title") });
  const status = h("div", { "aria-live": "polite" });
  const render = () => clear(list, state.map((rule, i) => h("li", {}, ruleEditor(state, i, folders, render))));
  const save = async (ev) => {
    ev.preventDefault();
    clear(status);
    try {
      const saved = await api.put("/v1/rules", { rules: state });
      state.splice(0, state.length, ...saved.rules);
      render();
      toast(t("rules.saved"));
    } catch (e) {
      clear(status, errorBox(e));
    }
  };
  render();
  clear(
    main,
    h("h1", { tabindex: -1 }, t("rules.title")),
    h("p", {}, t("rules.intro")),
    h(
      "form",
      { onsubmit: save, id: "rules-form" },
      list,
      h(
        "div",
        { class: "actions" },
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            onclick: () => {
              state.push({ name: t("rules.new_name"), enabled: true, match: "all", conditions: [{ field: "from", op: "contains", value: "" }], actions: [{ type: "mark_read" }], stop_processing: false });
              render();
              list.lastElementChild?.querySelector("input")?.focus();
            },
          },
          t("rules.add"),
        ),
        h("button", { type: "submit" }, t("common.save")),
      ),
      status,
    ),
  );
}

function select(options, value, labelPrefix, onChange) {
  const el = h("select", {}, options.map((o) => h("option", { value: o, selected: o === value }, t(`${labelPrefix}${o}`))));
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

function small(labelKey, control) {
  control.id ||= nextId();
  return h("span", { class: "inline" }, h("label", { for: control.id, class: "sr-only" }, t(labelKey)), control);
}

function valueInput(cond, onChange) {
  if (cond.field === "has_attachment") {
    const el = h("select", {}, h("option", { value: "true", selected: cond.value === true }, t("common.yes")), h("option", { value: "false", selected: cond.value !== true }, t("common.no")));
    el.addEventListener("change", () => onChange(el.value === "true"));
    return el;
  }
  const numeric = cond.field === "size";
  const el = h("input", { type: numeric ? "number" : "text", value: cond.value ?? "", min: numeric ? 0 : null });
  el.addEventListener("input", () => onChange(numeric ? Number(el.value) : el.value));
  return el;
}

function ruleEditor(state, index, folders, render) {
  const rule = state[index];
  const name = h("input", { type: "text", value: rule.name || "", required: true, maxlength: 100 });
  name.addEventListener("input", () => (rule.name = name.value));
  const enabled = checkbox("rules.enabled", rule.enabled !== false);
  enabled.querySelector("input").addEventListener("change", (ev) => (rule.enabled = ev.target.checked));
  const stop = checkbox("rules.stop", rule.stop_processing);
  stop.querySelector("input").addEventListener("change", (ev) => (rule.stop_processing = ev.target.checked));
  const match = select(["all", "any"], rule.match || "all", "rules.match_", (v) => (rule.match = v));
  const conditions = (rule.conditions || []).map((cond, ci) =>
    h(
      "li",
      { class: "cond" },
      small("rules.field", select(Object.keys(OPERATORS), cond.field, "rules.field_", (v) => {
        cond.field = v;
        cond.op = OPERATORS[v][0];
        cond.value = v === "has_attachment" ? true : v === "size" ? 0 : "";
        render();
      })),
      small("rules.op", select(OPERATORS[cond.field] || [], cond.op, "rules.op_", (v) => (cond.op = v))),
      small("rules.value", valueInput(cond, (v) => (cond.value = v))),
      h("button", { type: "button", class: "link", onclick: () => { rule.conditions.splice(ci, 1); render(); } }, t("rules.remove_condition")),
    ),
  );
  const actions = (rule.actions || []).map((action, ai) =>
    h(
      "li",
      { class: "cond" },
      small("rules.action", select(ACTIONS, action.type, "rules.action_", (v) => {
        action.type = v;
        if (v === "move_to_folder") action.folder_id = action.folder_id || "inbox";
        else delete action.folder_id;
        render();
      })),
      action.type === "move_to_folder"
        ? small("rules.folder", (() => {
            const el = h("select", {}, folderOptions(folders, action.folder_id));
            el.addEventListener("change", () => (action.folder_id = el.value));
            return el;
          })())
        : null,
      h("button", { type: "button", class: "link", onclick: () => { rule.actions.splice(ai, 1); render(); } }, t("rules.remove_action")),
    ),
  );
  const move = (delta) => {
    const to = index + delta;
    if (to < 0 || to >= state.length) return;
    [state[index], state[to]] = [state[to], state[index]];
    render();
  };
  return h(
    "fieldset",
    { class: "card rule" },
    h("legend", {}, t("rules.rule_n", { n: index + 1 })),
    field("rules.name", name),
    h("div", { class: "inline-row" }, enabled, stop, field("rules.match", match)),
    h("h4", {}, t("rules.conditions")),
    h("ul", { class: "conds" }, conditions),
    h("button", { type: "button", class: "link", onclick: () => { rule.conditions.push({ field: "subject", op: "contains", value: "" }); render(); } }, t("rules.add_condition")),
    h("h4", {}, t("rules.actions")),
    h("ul", { class: "conds" }, actions),
    h("button", { type: "button", class: "link", onclick: () => { rule.actions.push({ type: "mark_read" }); render(); } }, t("rules.add_action")),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "secondary", disabled: index === 0, onclick: () => move(-1) }, t("rules.up")),
      h("button", { type: "button", class: "secondary", disabled: index === state.length - 1, onclick: () => move(1) }, t("rules.down")),
      h("button", { type: "button", class: "danger", onclick: () => { state.splice(index, 1); render(); } }, t("rules.delete")),
    ),
  );
}
