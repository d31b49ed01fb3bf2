// Live stats of this session (since the page loaded), per currency: wagered,
// profit, wins, losses and the profit after each bet as a chart. Every settled
// bet of the player counts once (by game and id), whichever page placed it; a
// bet is a win when it pays more than its stake. A toggle in every bet panel
// shows or hides the panel; Reset clears the shown currency.

import { h, svg } from "../dom.js";

const WIDTH = 300;
const HEIGHT = 100;

const empty = () => ({ wagered: 0, profit: 0, wins: 0, losses: 0, points: [0] });

/** Count a settled bet record ({game, id, amount, payout, currency}) once. */
export function countBet(store, record) {
  if (!Number.isInteger(record.payout)) return; // not settled
  const stats = store.get("stats");
  const id = `${record.game}:${record.id}`;
  if (stats.counted.has(id)) return;
  const before = stats.currencies[record.currency] ?? empty();
  const profit = record.payout - record.amount;
  const after = {
    wagered: before.wagered + record.amount,
    profit: before.profit + profit,
    wins: before.wins + (profit > 0 ? 1 : 0),
    losses: before.losses + (profit > 0 ? 0 : 1),
    points: [...before.points, before.profit + profit],
  };
  store.set("stats", {
    counted: new Set([...stats.counted, id]),
    currencies: { ...stats.currencies, [record.currency]: after },
  });
}

/** The bet panel's button that shows or hides the stats panel; returns {el, destroy}. */
export function statsToggle(app) {
  const { store } = app;
  const el = h("button", {
    type: "button", class: "btn btn-link stats-toggle", "data-testid": "stats-toggle",
    onclick: () => store.set("statsOpen", !store.get("statsOpen")),
  }, "Live stats");
  const destroy = store.watch("statsOpen", (open) => el.setAttribute("aria-pressed", String(open)));
  return { el, destroy };
}

/** The profit after each bet as an SVG line over a zero line. */
function chart(points) {
  const low = Math.min(0, ...points);
  const high = Math.max(0, ...points);
  const span = high - low || 1;
  const x = (i) => (points.length > 1 ? (i / (points.length - 1)) * WIDTH : 0);
  const y = (value) => HEIGHT - ((value - low) / span) * HEIGHT;
  const line = points.map((value, i) => `${x(i).toFixed(1)},${y(value).toFixed(1)}`).join(" ");
  const last = points.at(-1);
  return svg("svg", {
    class: "stats-chart", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: "none", role: "img",
    "aria-label": `Profit over ${points.length - 1} bets`, "data-testid": "stats-chart", "data-points": String(points.length - 1),
  },
  svg("line", { class: "stats-zero", x1: 0, x2: WIDTH, y1: y(0), y2: y(0) }),
  svg("polyline", { class: `stats-line ${last > 0 ? "win" : last < 0 ? "loss" : ""}`, points: line }));
}

/** The stats panel (hidden until toggled) for a game page; returns {el, destroy}. */
export function statsPanel(app) {
  const { store } = app;
  const figure = (name, title) => {
    const value = h("dd", { "data-testid": `stats-${name}` });
    return { value, el: h("div", { class: "fact" }, h("dt", {}, title), value) };
  };
  const figures = {
    wagered: figure("wagered", "Wagered"), profit: figure("profit", "Profit"),
    wins: figure("wins", "Wins"), losses: figure("losses", "Losses"),
  };
  const title = h("h2", {}, "Live stats");
  const chartSlot = h("div", { class: "stats-chart-box" });
  const reset = h("button", {
    type: "button", class: "btn btn-chip", "data-testid": "stats-reset",
    onclick: () => {
      const stats = store.get("stats");
      store.set("stats", { ...stats, currencies: { ...stats.currencies, [store.get("currency")]: empty() } });
    },
  }, "Reset");
  const el = h("section", { class: "card stats-panel", "aria-label": "Live stats", "data-testid": "stats-panel", hidden: true },
    h("div", { class: "card-head" }, title, reset),
    h("dl", { class: "facts stats-facts" }, Object.values(figures).map((item) => item.el)),
    chartSlot);

  const render = () => {
    const currency = store.get("currency");
    const stats = store.get("stats").currencies[currency] ?? empty();
    title.textContent = `Live stats · ${currency}`;
    figures.wagered.value.textContent = app.format(stats.wagered, currency);
    figures.profit.value.textContent = app.format(stats.profit, currency, { sign: true });
    figures.profit.value.className = stats.profit > 0 ? "win" : stats.profit < 0 ? "loss" : "";
    figures.wins.value.textContent = String(stats.wins);
    figures.losses.value.textContent = String(stats.losses);
    chartSlot.replaceChildren(chart(stats.points));
  };
  const stops = [
    store.watch("stats", render),
    store.watch("currency", render),
    store.watch("statsOpen", (open) => { el.hidden = !open; }),
  ];
  return { el, destroy: () => stops.forEach((stop) => stop()) };
}
