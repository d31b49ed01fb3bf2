// The wallet: balances, the play-money faucet and the transaction history
// (newest first, paginated with next_before, filterable by game).

import { dateTime, h, replaceChildren } from "../dom.js";
import { plainWords } from "../errors.js";
import { GAME_BY_ID } from "../games/catalog.js";
import { api } from "../http.js";
import { coin } from "../ui/coin.js";
import { signInFirst } from "../ui/sign-in-first.js";
import { toast } from "../ui/toast.js";

const PAGE = 25;
const TYPE_WORDS = { bet: "Bet", win: "Win", refund: "Refund", deposit: "Deposit", adjust: "Adjustment", rollback: "Rollback" };

export function walletPage(el, app) {
  const { store } = app;
  if (!store.get("user")) return signInFirst(el, app, "Wallet", "Sign in to see your balances and transactions.");
  let decimals = store.get("currencies");
  let nextBefore = null;
  let game = "";
  let loading = false;

  const balances = h("div", { class: "balance-cards" });
  const faucet = h("button", { class: "btn btn-primary", type: "button", "data-testid": "faucet", onclick: claim }, "Claim free play money");
  const filter = h("select", { class: "input", id: "tx-game", onchange: () => { game = filter.value; reload(); } },
    h("option", { value: "" }, "All games"),
    [...store.get("offered")].map((id) => h("option", { value: id }, GAME_BY_ID[id]?.title ?? id)));
  const body = h("tbody");
  const more = h("button", { class: "btn btn-secondary", type: "button", onclick: () => load() }, "Load more");
  el.append(
    h("section", { class: "card wallet-head" },
      h("div", { class: "wallet-title" }, h("h1", {}, "Wallet"),
        h("div", { class: "wallet-actions" }, h("a", { class: "btn btn-secondary", href: "#/limits" }, "Limits"), faucet)),
      balances),
    h("section", { class: "card" },
      h("div", { class: "card-head" }, h("h2", {}, "Transactions"),
        h("div", { class: "inline-field" }, h("label", { for: "tx-game" }, "Game"), filter)),
      h("div", { class: "table-scroll" }, h("table", { class: "table tx-table", "data-testid": "transactions" },
        h("thead", {}, h("tr", {}, ["Type", "Game", "Amount", "Balance after", "Time", "Status"].map((title, i) =>
          h("th", { scope: "col", class: i === 2 ? "num" : i === 3 ? "num hide-sm" : i >= 4 ? "hide-sm" : "" }, title)))),
        body)),
      h("div", { class: "card-foot" }, more)));

  const renderBalances = () => replaceChildren(balances, Object.keys(decimals).map((currency) =>
    h("div", { class: "balance-card" }, coin(currency, 28),
      h("div", {}, h("div", { class: "muted" }, currency),
        h("div", { class: "balance-card-amount" }, app.format(store.get("balances")[currency]?.balance ?? 0, currency))))));
  const row = (tx) => h("tr", {},
    h("td", {}, h("span", { class: `badge badge-${tx.type}` }, TYPE_WORDS[tx.type] ?? tx.type)),
    h("td", {}, tx.game ? GAME_BY_ID[tx.game]?.title ?? tx.game : h("span", { class: "muted" }, tx.ref || "—")),
    h("td", { class: `num ${tx.amount > 0 ? "win" : ""}` }, h("span", { class: "money" },
      formatIn(tx.amount, tx.currency, { sign: true }), coin(tx.currency, 14))),
    h("td", { class: "num hide-sm" }, formatIn(tx.balance_after, tx.currency)),
    h("td", { class: "hide-sm muted" }, dateTime(tx.created_at)),
    h("td", { class: "hide-sm" }, h("span", { class: `status status-${tx.status}` }, tx.status.replace("_", " "))));
  const formatIn = (minor, currency, options) => app.format(minor, currency, options);

  async function load() {
    if (loading) return;
    loading = true;
    more.disabled = true;
    try {
      const page = await api("/api/transactions", { query: { limit: PAGE, before: nextBefore, game } });
      body.append(...page.items.map(row));
      if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No transactions")));
      nextBefore = page.next_before;
    } catch (error) {
      toast(plainWords(error), "error");
    } finally {
      loading = false;
      more.hidden = nextBefore === null;
      more.disabled = false;
    }
  }
  function reload() {
    nextBefore = null;
    body.replaceChildren();
    load();
  }
  async function claim() {
    faucet.disabled = true;
    try {
      const { tx } = await api("/api/wallet/faucet", { method: "POST" });
      toast(`${app.format(tx.amount, tx.currency)} ${tx.currency} added to your wallet`, "success");
      reload();
    } catch (error) {
      toast(plainWords(error, error.code === "RATE_LIMITED" ? error.message : ""), "error");
    } finally {
      faucet.disabled = false;
    }
  }

  api("/api/wallet").then((wallet) => {
    decimals = wallet.currencies;
    store.set("currencies", wallet.currencies);
    renderBalances();
  }).catch((error) => toast(plainWords(error), "error"));
  renderBalances();
  const stop = store.watch("balances", renderBalances);
  reload();
  return stop;
}
