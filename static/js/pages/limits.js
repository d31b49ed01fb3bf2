// Responsible play: the player's loss, wager and deposit limits (with what is used
// of each and when it resets), a cool-off or self-exclusion, the time zone the
// periods follow, the reality-check interval and the history of changes.
// Every change goes to PUT /api/limits; the server decides what applies when.

import { dateTime, h, replaceChildren } from "../dom.js";
import { plainWords } from "../errors.js";
import { api } from "../http.js";
import { parseDecimal } from "../money.js";
import { signInFirst } from "../ui/sign-in-first.js";
import { toast } from "../ui/toast.js";

const KINDS = { loss: "Loss", wager: "Wager", deposit: "Deposit" };
const PERIODS = { day: "Daily", week: "Weekly", month: "Monthly" };
const PAUSES = {
  cool_off_24h: "Cool-off for 24 hours",
  cool_off_7d: "Cool-off for 7 days",
  cool_off_30d: "Cool-off for 30 days",
  self_exclusion_6m: "Self-exclusion for 6 months",
  self_exclusion_permanent: "Permanent self-exclusion",
};
const REALITY_CHECKS = [0, 15, 30, 45, 60, 90, 120];

const select = (id, options, value) => {
  const el = h("select", { class: "input", id },
    Object.entries(options).map(([key, title]) => h("option", { value: key }, title)));
  if (value !== undefined) el.value = value;
  return el;
};
const field = (id, label, input) => h("div", { class: "field" }, h("label", { for: id }, label), input);

export function limitsPage(el, app) {
  const { store } = app;
  if (!store.get("user")) return signInFirst(el, app, "Limits", "Sign in to set limits on your play.");
  const sections = h("div", { class: "limits-page" });
  el.append(sections);
  let closed = false;

  const money = (minor, currency) => `${app.format(minor, currency)} ${currency}`;

  async function change(body, done) {
    try {
      const view = await api("/api/limits", { method: "PUT", body });
      store.set("realityCheckMin", view.reality_check_min);
      render(view);
      toast(done, "success");
    } catch (error) {
      toast(plainWords(error, error.message), "error");
    }
  }

  function render(view) {
    if (closed) return;
    const limits = h("section", { class: "card" },
      h("h1", {}, "Limits"),
      h("p", { class: "muted" },
        "Limits hold in every game, tab and device. A new or lower limit applies at once; ",
        "a higher one, or removing one, only after 24 hours. Periods follow your time zone: ",
        "a day starts at midnight, a week on Monday, a month on the 1st."),
      h("h2", {}, "Your limits"), limitsTable(view), limitForm());
    const pause = h("section", { class: "card" }, pauseBlock(view));
    // A break in force comes first; otherwise the limits and their form do.
    replaceChildren(sections, ...(view.pause ? [pause, limits] : [limits, pause]),
      h("section", { class: "card" }, h("h2", {}, "Settings"), settingsForm(view)),
      h("section", { class: "card" }, h("h2", {}, "Changes"), historyTable(view.history)));
  }

  function pauseBlock(view) {
    const { pause } = view;
    const status = pause
      ? h("p", { class: "limits-pause", "data-testid": "pause" },
        pause.kind === "self_exclusion" ? "Self-excluded" : "In a cool-off",
        pause.until === null ? " permanently" : ` until ${dateTime(pause.until)}`,
        ": no bets and no deposits.")
      : null;
    const choice = select("limits-pause", PAUSES);
    const confirm = h("div", { class: "limits-confirm", hidden: true },
      h("p", { class: "form-note" }, "A break cannot be ended early or shortened, by you or by support."),
      h("button", { class: "btn btn-primary", type: "button", "data-testid": "pause-confirm",
        onclick: () => change({ pause: choice.value }, "Your break has started") }, "Start the break"));
    return h("div", { class: "limits-block" },
      h("h2", {}, "Take a break"), status,
      h("div", { class: "limits-row" }, field("limits-pause", "Length", choice),
        h("button", { class: "btn btn-secondary", type: "button", onclick: () => { confirm.hidden = false; } }, "Continue")),
      confirm);
  }

  function limitsTable(view) {
    if (!view.limits.length) return h("p", { class: "muted", "data-testid": "no-limits" }, "No limits set.");
    return h("div", { class: "table-scroll" }, h("table", { class: "table", "data-testid": "limits" },
      h("thead", {}, h("tr", {}, ["Limit", "Amount", "Used", "Resets"].map((title, i) =>
        h("th", { scope: "col", class: i === 1 || i === 2 ? "num" : i === 3 ? "hide-sm" : "" }, title)))),
      h("tbody", {}, view.limits.map((limit) => h("tr", { dataset: { limit: `${limit.currency}:${limit.kind}:${limit.period}` } },
        h("td", {}, `${PERIODS[limit.period]} ${KINDS[limit.kind].toLowerCase()} · ${limit.currency}`,
          limit.pending ? h("div", { class: "muted limits-pending" },
            `${limit.pending.amount === null ? "Removed" : `Becomes ${money(limit.pending.amount, limit.currency)}`} ${dateTime(limit.pending.effective_at)}`) : null,
          limit.amount === null || limit.pending ? null : h("button", {
            class: "btn btn-link limits-remove", type: "button",
            onclick: () => change({ currency: limit.currency, kind: limit.kind, period: limit.period, amount: null },
              "The limit will be removed in 24 hours"),
          }, "Remove")),
        h("td", { class: "num" }, limit.amount === null ? "none" : money(limit.amount, limit.currency)),
        h("td", { class: "num" }, money(limit.used, limit.currency)),
        h("td", { class: "hide-sm muted" }, dateTime(limit.resets_at)))))));
  }

  function limitForm() {
    const currencies = store.get("currencies");
    const currency = select("limit-currency", Object.fromEntries(Object.keys(currencies).map((c) => [c, c])), store.get("currency"));
    const kind = select("limit-kind", KINDS);
    const period = select("limit-period", PERIODS);
    const amount = h("input", { class: "input", id: "limit-amount", inputmode: "decimal", autocomplete: "off", placeholder: "0.00" });
    const error = h("p", { class: "form-error", role: "alert" });
    return h("form", {
      class: "limits-form",
      onsubmit: (event) => {
        event.preventDefault();
        const read = parseDecimal(amount.value, currencies[currency.value] ?? 2);
        error.textContent = read.error ?? "";
        if (read.error) return;
        change({ currency: currency.value, kind: kind.value, period: period.value, amount: read.minor }, "Limit saved");
      },
    },
    h("div", { class: "limits-fields" }, field("limit-kind", "Limit", kind), field("limit-period", "Period", period),
      field("limit-currency", "Currency", currency), field("limit-amount", "Amount", amount),
      h("button", { class: "btn btn-primary", type: "submit", "data-testid": "limit-save" }, "Set limit")),
    error);
  }

  function settingsForm(view) {
    const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const known = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    const names = [...new Set(["UTC", view.zone, browserZone, ...known])].filter(Boolean).sort();
    const zone = select("limits-zone", Object.fromEntries(names.map((name) => [name, name])), view.zone);
    const reality = select("limits-reality",
      Object.fromEntries(REALITY_CHECKS.map((m) => [m, m ? `Every ${m} minutes` : "Off"])), String(view.reality_check_min));
    return h("div", { class: "limits-settings" },
      h("div", { class: "limits-row" }, field("limits-zone", "Time zone", zone),
        h("button", { class: "btn btn-secondary", type: "button",
          onclick: () => change({ zone: zone.value }, "Time zone saved") }, "Save")),
      h("div", { class: "limits-row" }, field("limits-reality", "Reality check", reality),
        h("button", { class: "btn btn-secondary", type: "button", "data-testid": "reality-save",
          onclick: () => change({ reality_check_min: Number(reality.value) }, "Reality check saved") }, "Save")));
  }

  function historyTable(history) {
    if (history === null) return h("p", { class: "muted" }, "The history cannot be read right now; your limits and changes are in force.");
    if (!history.length) return h("p", { class: "muted" }, "No changes yet.");
    return h("div", { class: "table-scroll" }, h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Time", "Setting", "From", "To", "Applies"].map((title, i) =>
        h("th", { scope: "col", class: i === 0 || i === 4 ? "hide-sm" : "" }, title)))),
      h("tbody", {}, history.map((row) => h("tr", {},
        h("td", { class: "hide-sm muted" }, dateTime(row.changed_at)),
        h("td", {}, settingWords(row.setting)),
        h("td", {}, valueWords(row.setting, row.old)),
        h("td", {}, valueWords(row.setting, row.new)),
        h("td", { class: "hide-sm muted" }, dateTime(row.effective_at)))))));
  }

  function settingWords(setting) {
    const [currency, kind, period] = setting.split(":");
    if (kind) return `${PERIODS[period]} ${KINDS[kind].toLowerCase()} · ${currency}`;
    return { zone: "Time zone", pause: "Break", reality_check: "Reality check" }[setting] ?? setting;
  }

  function valueWords(setting, value) {
    if (value === "") return "none";
    const [currency, kind] = setting.split(":");
    if (kind) return money(Number(value), currency);
    if (setting === "pause") {
      const [pauseKind, until] = value.split(":");
      const name = pauseKind === "self_exclusion" ? "Self-exclusion" : "Cool-off";
      return until === "never" ? `${name}, permanent` : `${name} until ${dateTime(Number(until))}`;
    }
    if (setting === "reality_check") return value === "0" ? "off" : `${value} min`;
    return value;
  }

  api("/api/limits").then(render).catch((error) => toast(plainWords(error), "error"));
  return () => { closed = true; };
}
