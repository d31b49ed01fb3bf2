// The frame every instant game shares: bet panel, stage, recent results and
// the bets table; it places the bet (a fresh idempotency key per click) and
// hands the settled record to the game.

import { h } from "../dom.js";
import { plainWords } from "../errors.js";
import { newKey } from "../random.js";
import { betControls } from "../ui/bet-controls.js";
import { betsTable } from "../ui/bets-table.js";
import { resultsStrip } from "../ui/results-strip.js";

/**
 * Mount an instant game in `el`. `spec`: {game, fields, stage, params() -> object
 * or null (the game showed why), onResult(record), showProfit}.
 * Returns {controls, results, destroy}.
 */
export function instantGame(el, app, spec) {
  const { store, socket } = app;
  const results = resultsStrip();
  const controls = betControls(app, { fields: spec.fields, showProfit: spec.showProfit ?? true, onBet: place });
  const table = betsTable(app);
  el.append(
    h("section", { class: `game game-${spec.game}`, "aria-label": spec.title },
      h("div", { class: "card game-panel" }, controls.el),
      h("div", { class: "card game-stage" }, results.el, spec.stage)),
    table.el);

  async function place() {
    if (!app.requireUser()) return;
    const params = spec.params();
    const amount = controls.amount();
    if (params === null || amount === null) return;
    const currency = store.get("currency");
    controls.setBusy(true);
    try {
      const record = await socket.request("bet", { game: spec.game, amount, currency, params, key: newKey(spec.game) });
      app.recordBet(record);
      spec.onResult(record);
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
