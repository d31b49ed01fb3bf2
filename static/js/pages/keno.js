// Keno: pick 1-10 of 40 squares; the server draws 10. Drawn squares are shown
// one after another, hits in green. Under the board, the payout by number of
// hits for the current picks and risk, from the table the server publishes.

import { h } from "../dom.js";
import { instantGame, selectField } from "../games/instant.js";
import { choices } from "../games/schema.js";
import { formatMultiplier } from "../money.js";
import { randomBelow } from "../random.js";

const SQUARES = 40;
const REVEAL_MS = 90;

export function kenoPage(el, app) {
  const schema = app.store.get("schemas").keno;
  const maxPicks = schema?.properties?.picks?.maxItems ?? 10;
  const risks = choices(schema, "risk");
  let risk = risks[0];
  const picks = new Set();
  let timers = [];
  const table = app.store.get("payoutTables").keno ?? {}; // risk -> picks -> multipliers by hits

  const info = h("p", { class: "keno-info", "aria-live": "polite", "data-testid": "keno-info" });
  const payouts = h("ol", { class: "keno-payouts", "aria-label": "Payout by hits", "data-testid": "keno-payouts" });
  /** The payout by hits for the picks and risk now; `hits` marks a result's. */
  const renderPayouts = (hits = null) => {
    const row = table[risk]?.[picks.size] ?? [];
    payouts.replaceChildren(...row.map((multiplier, count) => h("li", {
      class: `keno-payout${count === hits ? " hit" : ""}`, dataset: { hits: count },
      title: `${count} ${count === 1 ? "hit" : "hits"}: ${multiplier}×`,
    }, h("span", { class: "keno-payout-x" }, `${multiplier}×`), // as published: "0.8", "1000"
    h("span", { class: "keno-payout-hits" }, `${count} ${count === 1 ? "hit" : "hits"}`))));
  };
  const squares = Array.from({ length: SQUARES }, (_, i) =>
    h("button", {
      type: "button", class: "keno-square", "aria-pressed": "false", dataset: { n: i + 1 },
      onclick: () => toggle(i + 1),
    }, String(i + 1)));
  const grid = h("div", { class: "keno-grid", role: "group", "aria-label": "Keno squares" }, squares);

  const clearDraw = () => {
    timers.forEach(clearTimeout);
    timers = [];
    for (const square of squares) square.classList.remove("drawn", "hit");
  };
  const render = () => {
    for (const square of squares) {
      const picked = picks.has(Number(square.dataset.n));
      square.classList.toggle("picked", picked);
      square.setAttribute("aria-pressed", String(picked));
    }
    info.textContent = picks.size ? `${picks.size} of ${maxPicks} picked` : `Pick 1 to ${maxPicks} numbers`;
    renderPayouts();
  };
  const toggle = (n) => {
    clearDraw();
    if (picks.has(n)) picks.delete(n);
    else if (picks.size < maxPicks) picks.add(n);
    render();
  };
  const autoPick = () => {
    clearDraw();
    picks.clear();
    while (picks.size < maxPicks) picks.add(randomBelow(SQUARES) + 1);
    render();
  };
  const clear = () => {
    clearDraw();
    picks.clear();
    render();
  };

  const riskField = selectField("keno-risk", "Risk", risks, risk, (value) => {
    risk = value;
    renderPayouts();
  });
  const tools = h("div", { class: "field button-pair" },
    h("button", { type: "button", class: "btn btn-secondary", onclick: autoPick }, "Auto pick"),
    h("button", { type: "button", class: "btn btn-secondary", onclick: clear }, "Clear table"));

  const game = instantGame(el, app, {
    game: "keno",
    title: "Keno",
    fields: [riskField.el, tools],
    stage: h("div", { class: "keno-stage" }, grid, payouts, info),
    showProfit: false,
    params() {
      if (!picks.size) {
        info.textContent = "Pick at least one number first";
        return null;
      }
      return { picks: [...picks].sort((a, b) => a - b), risk };
    },
    onResult(record) {
      clearDraw();
      const { drawn, hits } = record.outcome;
      drawn.forEach((n, i) => {
        timers.push(setTimeout(() => {
          squares[n - 1].classList.add(hits.includes(n) ? "hit" : "drawn");
        }, i * REVEAL_MS));
      });
      timers.push(setTimeout(() => {
        const won = Number(record.multiplier) >= 1; // 0.8x pays back less than the stake
        const multiplier = `${formatMultiplier(record.multiplier)}×`;
        info.textContent = `${hits.length} ${hits.length === 1 ? "hit" : "hits"} · ${multiplier}`;
        if (record.params.risk === risk && record.params.picks.length === picks.size) renderPayouts(hits.length);
        game.results.push(multiplier, won);
      }, drawn.length * REVEAL_MS));
    },
  });
  render();
  return () => {
    clearDraw();
    game.destroy();
  };
}
