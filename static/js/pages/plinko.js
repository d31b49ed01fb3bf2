// Plinko: rows and risk from the server's schema; the ball follows the bet's
// path. Every slot is labelled with its multiplier from the payout table the
// server publishes in /api/games.

import { h } from "../dom.js";
import { instantGame, selectField } from "../games/instant.js";
import { PlinkoBoard } from "../games/plinko-board.js";
import { choices, integers, range } from "../games/schema.js";
import { formatMultiplier } from "../money.js";

export function plinkoPage(el, app) {
  const schema = app.store.get("schemas").plinko;
  const rowOptions = integers(range(schema, "rows"));
  const risks = choices(schema, "risk");
  let rows = rowOptions.at(-1);
  let risk = risks[0];
  const table = app.store.get("payoutTables").plinko ?? {}; // risk -> rows -> multipliers by slot

  const canvas = h("canvas", { class: "plinko-canvas", role: "img", "aria-label": "Plinko board" });
  const board = new PlinkoBoard(canvas);
  const live = h("p", { class: "sr-only", "aria-live": "polite", "data-testid": "plinko-result" });
  const labels = () => {
    const slots = (table[risk]?.[rows] ?? []).map((multiplier) => `${multiplier}×`);
    canvas.setAttribute("aria-label", `Plinko board, ${rows} rows, ${risk} risk: slots pay ${slots.join(", ")}`);
    return slots;
  };

  const rowsField = selectField("plinko-rows", "Rows", rowOptions, rows, (value) => {
    rows = Number(value);
    board.setRows(rows);
    board.setLabels(labels());
  });
  const riskField = selectField("plinko-risk", "Risk", risks, risk, (value) => {
    risk = value;
    board.setLabels(labels());
  });
  board.setRows(rows);
  board.setLabels(labels());

  const game = instantGame(el, app, {
    game: "plinko",
    title: "Plinko",
    fields: [riskField.el, rowsField.el],
    stage: h("div", { class: "plinko-stage" }, canvas, live),
    showProfit: false,
    params: () => ({ rows, risk }),
    onResult(record) {
      const won = Number(record.multiplier) >= 1;
      const { path } = record.outcome;
      if (record.params.rows !== rows) return; // the board changed meanwhile
      board.drop(path, () => {
        game.results.push(`${formatMultiplier(record.multiplier)}×`, won);
        live.textContent = `Landed in slot ${record.outcome.slot}: ${formatMultiplier(record.multiplier)}×`;
      });
    },
  });
  return () => {
    board.destroy();
    game.destroy();
  };
}
