// Plinko: rows and risk from the server's schema; the ball follows the bet's
// path. The server publishes no payout table, so a slot is labelled once a
// bet (this session's or in "My bets") has shown its multiplier.

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
  const known = new Map(); // "rows:risk" -> labels by slot

  const canvas = h("canvas", { class: "plinko-canvas", role: "img", "aria-label": "Plinko board" });
  const board = new PlinkoBoard(canvas);
  const live = h("p", { class: "sr-only", "aria-live": "polite", "data-testid": "plinko-result" });
  const labels = () => known.get(`${rows}:${risk}`) ?? [];
  const learn = (record) => {
    if (record.game !== "plinko") return;
    const key = `${record.params.rows}:${record.params.risk}`;
    if (!known.has(key)) known.set(key, []);
    known.get(key)[record.outcome.slot] = `${record.multiplier}×`; // as published: "1.4", "16"
  };
  const unwatch = app.store.watch("myBets", (bets) => {
    bets.forEach(learn);
    board.setLabels(labels());
  });

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
        learn(record);
        board.setLabels(labels());
        game.results.push(`${formatMultiplier(record.multiplier)}×`, won);
        live.textContent = `Landed in slot ${record.outcome.slot}: ${formatMultiplier(record.multiplier)}×`;
      });
    },
  });
  app.loadMyBets().catch(() => {});
  return () => {
    unwatch();
    board.destroy();
    game.destroy();
  };
}
