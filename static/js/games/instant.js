// The frame every instant game shares: bet panel, stage, recent results and
// the bets table; it places the bet (a fresh idempotency key per bet, by hand
// or by autobet) and hands the settled record to the game.

import { h } from "../dom.js";
import { plainWords } from "../errors.js";
import { ApiError } from "../http.js";
import { newKey } from "../random.js";
import { betControls } from "../ui/bet-controls.js";
import { betsTable } from "../ui/bets-table.js";
import { statsPanel } from "../ui/live-stats.js";
import { resultsStrip } from "../ui/results-strip.js";

/**
 * Mount an instant game in `el`. `spec`: {game, fields, stage, params() -> object
 * or null (the game showed why), onResult(record), showProfit}.
 * Returns {controls, results, destroy}.
 */
export function instantGame(el, app, spec) {
  const { store, socket } = app;
  const results = resultsStrip();
  const controls = betControls(app, {
    fields: spec.fields, showProfit: spec.showProfit ?? true, onBet: place,
    auto: { play: bet, check: () => (spec.params() === null ? "Complete the game's settings first" : null) },
  });
  const table = betsTable(app);
  const stats = statsPanel(app);
  el.append(
    h("section", { class: `game game-${spec.game}`, "aria-label": spec.title },
      h("div", { class: "card game-panel" }, controls.el),
      h("div", { class: "card game-stage" }, results.el, spec.stage)),
    stats.el,
    table.el);

  /** One bet with the game's current params; resolves with the settled record. */
  async function bet(amount, currency) {
    const params = spec.params();
    if (params === null) throw new ApiError("BAD_REQUEST", "complete the game's settings first");
    const record = await socket.request("bet", { game: spec.game, amount, currency, params, key: newKey(spec.game) });
    app.recordBet(record);
    spec.onResult(record);
    return record;
  }

  async function place() {
    if (!app.requireUser()) return;
    const amount = controls.amount();
    if (spec.params() === null || amount === null) return;
    const currency = store.get("currency");
    controls.setBusy(true);
    try {
      await bet(amount, currency);
    } catch (error) {
      controls.showError(plainWords(error, error.code === "LIMIT_EXCEEDED" ? app.limitsText(currency) : ""));
    } finally {
      controls.setBusy(false);
    }
  }

  return {
    controls,
    results,
    destroy() {
      controls.destroy();
      stats.destroy();
      table.destroy();
    },
  };
}

/** A labelled <select> for the bet panel. */
export function selectField(id, label, values, value, onChange) {
  const select = h("select", { class: "input", id, onchange: () => onChange(select.value) },
    values.map((option) => h("option", { value: option }, capitalize(String(option)))));
  select.value = String(value);
  return { el: h("div", { class: "field" }, h("label", { for: id }, label), select), select };
}

function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
