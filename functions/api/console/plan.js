// What a user whose plan lacks a feature sees (the API answers 403 plan_required).
import { clear, h } from "./dom.js";
import { t } from "./i18n.js";

/** The gate, shown before asking the API when the user's features already tell. */
export function lacksFeature(main, me, feature, titleKey) {
  if ((me.features || []).includes(feature)) return false;
  return planGate(main, { code: "plan_required" }, me, titleKey);
}

export function planGate(main, error, me, titleKey) {
  if (error?.code !== "plan_required") return false;
  clear(
    main,
    h("h1", { tabindex: -1 }, t(titleKey)),
    h(
      "section",
      { class: "card plan-required", role: "note", id: "plan-required" },
      h("h2", {}, t("plan.unavailable_title")),
      h("p", {}, t("plan.unavailable_body", { plan: t(`plan.${me.plan}`), tenant: me.tenant.name })),
      h("p", {}, t("plan.ask_admin")),
      error.message ? h("p", { class: "muted" }, t("plan.server_said"), " ", h("q", {}, error.message)) : null,
    ),
  );
  return true;
}
