// House profit per game and currency (charts and a table with the edges) and top winners.

import { h, replaceChildren } from "../dom.js";
import { formatAmount } from "../money.js";
import { admin } from "./api.js";
import { barChart } from "./charts.js";

const PERIODS = { hour: 48, day: 30 };

const percent = (edge) => (edge === null || edge === undefined ? "—" : `${(edge * 100).toFixed(2)}%`);

function periodLabel(bucket) {
  return (start) => {
    const iso = new Date(start).toISOString();
    return bucket === "hour" ? `${iso.slice(5, 10)} ${iso.slice(11, 13)}h` : iso.slice(5, 10);
  };
}

/** Totals per key of `items`, adding up `bets`, `wagered` and `paid`. */
function totals(items, keyOf) {
  const sums = new Map();
  for (const item of items) {
    const key = keyOf(item);
    const sum = sums.get(key) ?? { ...item, bets: 0, wagered: 0, paid: 0 };
    sum.bets += item.bets;
    sum.wagered += item.wagered;
    sum.paid += item.paid;
    sums.set(key, sum);
  }
  return [...sums.values()];
}

/** Draw the profit report of `bucket` ("hour" or "day") into `el`. */
export async function showProfit(el, bucket, currencies) {
  const report = await admin("reports/profit", { query: { bucket, periods: PERIODS[bucket] } });
  const decimals = (currency) => currencies[currency] ?? 2;
  const perCurrency = new Map();
  for (const point of totals(report.series, (item) => `${item.currency} ${item.start}`)) {
    const list = perCurrency.get(point.currency) ?? [];
    list.push({ ...point, value: point.wagered - point.paid });
    perCurrency.set(point.currency, list);
  }
  const charts = [...perCurrency].map(([currency, points]) =>
    h("div", { class: "chart-block", dataset: { currency } },
      h("h3", {}, `${currency}: house profit per ${bucket}`),
      barChart({
        points,
        since: report.since,
        size: report.bucket_ms,
        count: PERIODS[bucket],
        label: periodLabel(bucket),
        title: (point) => `${periodLabel(bucket)(point.start)}: ${formatAmount(point.value, decimals(currency), { sign: true })} ${currency} on ${point.bets} bets`,
      })));
  const games = totals(report.series, (item) => `${item.game} ${item.currency}`);
  const rows = games.map((game) => {
    const profit = game.wagered - game.paid;
    return h("tr", { dataset: { game: game.game, currency: game.currency } },
      h("td", {}, game.game),
      h("td", {}, game.currency),
      h("td", { class: "num" }, String(game.bets)),
      h("td", { class: "num" }, formatAmount(game.wagered, decimals(game.currency))),
      h("td", { class: "num" }, formatAmount(profit, decimals(game.currency), { sign: true })),
      h("td", { class: "num realised" }, percent(game.wagered ? profit / game.wagered : null)),
      h("td", { class: "num theoretical" }, percent(report.theoretical_edge[game.game])));
  });
  replaceChildren(el,
    charts.length ? charts : h("p", { class: "muted" }, "No settled bets in this period."),
    h("div", { class: "table-scroll" }, h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Game", "Currency", "Bets", "Wagered", "House profit", "Realised edge", "Theoretical edge"]
        .map((title, i) => h("th", { class: i > 1 ? "num" : null }, title)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { class: "empty", colSpan: 7 }, "Nothing yet"))))));
}

/** The players with the largest net profit of the last 24 hours. */
export async function showWinners(el, currencies) {
  const { items } = await admin("reports/winners", { query: { hours: 24, limit: 10 } });
  const rows = items.map((item) => h("tr", {},
    h("td", {}, item.name),
    h("td", { class: "mono" }, item.user_id),
    h("td", { class: "num" }, String(item.bets)),
    h("td", { class: "num" }, `${formatAmount(item.wagered, currencies[item.currency] ?? 2)} ${item.currency}`),
    h("td", { class: "num win" }, `${formatAmount(item.net, currencies[item.currency] ?? 2, { sign: true })} ${item.currency}`)));
  replaceChildren(el, h("div", { class: "table-scroll" }, h("table", { class: "table" },
    h("thead", {}, h("tr", {}, ["Player", "Id", "Bets", "Wagered", "Net profit"].map((title, i) => h("th", { class: i > 1 ? "num" : null }, title)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { class: "empty", colSpan: 5 }, "No winners in this period"))))));
}
