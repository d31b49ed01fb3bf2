// "All bets" (the public bets.live feed) and "My bets" (op `bets`), as tabs;
// a click on a bet opens its record.

import { clock, h, replaceChildren } from "../dom.js";
import { GAME_BY_ID } from "../games/catalog.js";
import { api } from "../http.js";
import { formatMultiplier } from "../money.js";
import { openBetDetails } from "./bet-details.js";
import { coin } from "./coin.js";

const TABS = [
  { id: "all", title: "All bets", key: "liveBets" },
  { id: "mine", title: "My bets", key: "myBets" },
];

export function betsTable(app) {
  const { store } = app;
  let active = "all";
  const body = h("tbody");
  const tabs = TABS.map((tab) =>
    h("button", {
      type: "button", role: "tab", class: "tab", id: `bets-tab-${tab.id}`,
      "aria-controls": "bets-table", onclick: () => select(tab.id),
    }, tab.title));
  const table = h("table", { class: "table bets-table", id: "bets-table", role: "tabpanel" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Game"), h("th", { scope: "col", class: "hide-sm" }, "Player"),
      h("th", { scope: "col", class: "hide-sm" }, "Time"), h("th", { scope: "col", class: "num" }, "Bet"),
      h("th", { scope: "col", class: "num" }, "Multiplier"), h("th", { scope: "col", class: "num" }, "Profit"))),
    body);
  const el = h("section", { class: "card bets-card", "aria-label": "Bets" },
    h("div", { class: "tabs", role: "tablist" }, tabs), h("div", { class: "table-scroll" }, table));

  const render = () => {
    const rows = store.get(TABS.find((tab) => tab.id === active).key);
    const user = store.get("user");
    if (!rows.length) {
      const empty = active === "mine" && !user ? "Sign in to see your bets" : "No bets yet";
      replaceChildren(body, h("tr", {}, h("td", { colspan: 6, class: "empty" }, empty)));
      return;
    }
    replaceChildren(body, rows.map((bet) => row(app, bet, active === "mine" ? user?.name : bet.user)));
  };
  const select = (id) => {
    active = id;
    tabs.forEach((tab, i) => tab.setAttribute("aria-selected", String(TABS[i].id === id)));
    if (id === "mine") app.loadMyBets();
    render();
  };
  select("all");
  const stops = [store.watch("liveBets", () => active === "all" && render()),
    store.watch("myBets", () => active === "mine" && render())];
  return { el, destroy: () => stops.forEach((stop) => stop()) };
}

function row(app, bet, player) {
  const won = bet.payout > bet.amount;
  const game = GAME_BY_ID[bet.game];
  const amount = (minor, options) => h("span", { class: "money" }, app.format(minor, bet.currency, options), coin(bet.currency, 14));
  const open = async () => {
    if (bet.ref && !("client_seed" in bet)) { // a feed item: its record and seeds by reference
      try {
        const record = await api(`/api/bets/public/${encodeURIComponent(bet.ref)}`);
        openBetDetails(app, record, player, { theirs: true });
        return;
      } catch {
        // not there (yet): the feed's own fields below
      }
    }
    openBetDetails(app, bet, player);
  };
  return h("tr", { class: "bet-row", onclick: open },
    h("td", {}, h("button", { type: "button", class: "game-link", "aria-haspopup": "dialog", onclick: (event) => {
      event.stopPropagation();
      open();
    } }, game?.title ?? bet.game)),
    h("td", { class: "hide-sm muted" }, player ?? "—"),
    h("td", { class: "hide-sm muted" }, clock(bet.time ?? bet.settled_at)),
    h("td", { class: "num" }, amount(bet.amount)),
    h("td", { class: `num ${won ? "win" : "muted"}` }, `${formatMultiplier(bet.multiplier)}×`),
    h("td", { class: `num ${won ? "win" : "muted"}` }, amount(bet.payout - bet.amount, { sign: true })));
}
