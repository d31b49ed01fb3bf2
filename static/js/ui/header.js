// The top bar: balance of the selected currency (live, animated), the
// currency selector, the account menu and the connection status.

import { h, icon, replaceChildren } from "../dom.js";
import { coin } from "./coin.js";
import { numberTween } from "./tween.js";

const WALLET_ICON = ["M3 7h15a3 3 0 0 1 3 3v7a3 3 0 0 1-3 3H6a3 3 0 0 1-3-3z", "M3 7l12-4v4", "M16 14h.01"];
const USER_ICON = ["M20 21a8 8 0 0 0-16 0", "M12 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z"];
const LOGOUT_ICON = ["M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4", "M16 17l5-5-5-5", "M21 12H9"];
const STATUS_WORDS = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };

export function mountHeader(app) {
  const { store } = app;
  mountWallet(app, document.getElementById("wallet-box"));
  const account = document.getElementById("account");
  store.watch("user", (user) => replaceChildren(account, user ? signedIn(app, user) : signedOut(app)));
  const connection = document.getElementById("connection");
  store.watch("status", (status) => {
    connection.dataset.status = status;
    replaceChildren(connection, h("span", { class: "dot", "aria-hidden": "true" }), h("span", { class: "label" }, STATUS_WORDS[status]));
    connection.title = `Connection: ${STATUS_WORDS[status]}`;
  });
}

function mountWallet(app, box) {
  const { store } = app;
  const amount = h("span", { class: "balance-amount", "data-testid": "balance" });
  const badge = h("span", { class: "balance-coin" });
  const select = h("select", {
    class: "currency-select",
    "aria-label": "Currency",
    onchange: () => app.selectCurrency(select.value),
  });
  const tween = numberTween(amount, (minor) => app.format(minor, store.get("currency")));
  box.append(
    h("div", { class: "balance", title: "Balance" }, badge, amount, select),
    h("a", { class: "btn wallet-link", href: "#/wallet" }, icon(WALLET_ICON, { size: 18 }), h("span", {}, "Wallet")),
  );
  let shownCurrency = null;
  const render = () => {
    const currency = store.get("currency");
    const entry = store.get("balances")[currency];
    if (currency !== shownCurrency) {
      shownCurrency = currency;
      replaceChildren(badge, coin(currency, 18));
      if (entry) tween.jump(entry.balance);
    } else if (entry) tween.to(entry.balance);
    amount.classList.toggle("loading", !entry);
    if (!entry) amount.textContent = "…";
  };
  store.watch("currencies", (currencies) => {
    replaceChildren(select, Object.keys(currencies).map((code) => h("option", { value: code }, code)));
    select.value = store.get("currency");
  });
  store.watch("currency", (currency) => {
    select.value = currency;
    render();
  });
  store.watch("balances", render);
  store.watch("user", (user) => {
    box.hidden = !user;
  });
}

function signedOut(app) {
  return [
    h("button", { class: "btn btn-ghost", type: "button", onclick: () => app.openAuth("login") }, "Sign in"),
    h("button", { class: "btn btn-primary", type: "button", onclick: () => app.playAsGuest() }, "Play as guest"),
  ];
}

function signedIn(app, user) {
  const chip = [icon(USER_ICON, { size: 16 }), h("span", { class: "user-name", "data-testid": "user-name" }, user.name)];
  return [
    user.kind === "guest"
      ? h("button", {
        class: "user-chip guest", type: "button", title: "Guest account: choose a username and password to keep it",
        "aria-haspopup": "dialog", "data-testid": "keep-account", onclick: () => app.openAuth("upgrade"),
      }, chip)
      : h("span", { class: "user-chip", title: "Account" }, chip),
    h("button", { class: "btn btn-ghost logout", type: "button", "aria-label": "Log out", onclick: () => app.logout() },
      icon(LOGOUT_ICON, { size: 18 }), h("span", { class: "label" }, "Log out")),
  ];
}
