// Boot: state, connection, session, chrome (header, sidebar) and the pages.

import { CrashRound } from "./crash/round.js";
import { h } from "./dom.js";
import { plainWords } from "./errors.js";
import { api } from "./http.js";
import { formatAmount } from "./money.js";
import { crashPage } from "./pages/crash.js";
import { dicePage } from "./pages/dice.js";
import { fairnessPage } from "./pages/fairness.js";
import { hiloPage } from "./pages/hilo.js";
import { kenoPage } from "./pages/keno.js";
import { limboPage } from "./pages/limbo.js";
import { limitsPage } from "./pages/limits.js";
import { lobbyPage } from "./pages/lobby.js";
import { minesPage } from "./pages/mines.js";
import { plinkoPage } from "./pages/plinko.js";
import { quizPage } from "./pages/quiz.js";
import { walletPage } from "./pages/wallet.js";
import { Router } from "./router.js";
import { Session } from "./session.js";
import { Socket } from "./socket.js";
import { Store } from "./store.js";
import { authDialog, confirmGuestLogout } from "./ui/auth-dialog.js";
import { mountHeader } from "./ui/header.js";
import { mountSidebar } from "./ui/sidebar.js";
import { countBet } from "./ui/live-stats.js";
import { mountRealityCheck } from "./ui/reality-check.js";
import { toast } from "./ui/toast.js";

const CURRENCY_KEY = "croupier.currency";
const FEED_LENGTH = 20;

const store = new Store({
  user: null,
  newcomer: false, // the user's account was created in this page (greeted "Welcome", not "Welcome back")
  balances: {}, // currency -> {balance, version}
  currencies: {}, // currency -> decimals
  limits: {}, // currency -> {min_bet, max_bet, max_payout}
  schemas: {}, // instant game -> params JSON schema
  payoutTables: {}, // game -> its published payout table (Plinko, Keno)
  currency: localStorage.getItem(CURRENCY_KEY) ?? "PLAY",
  status: "connecting",
  offered: new Set(), // game ids the server plays
  liveBets: [],
  myBets: [],
  stats: { counted: new Set(), currencies: {} }, // live stats of this session (ui/live-stats.js)
  statsOpen: false,
  realityCheckMin: 0, // the player's reality-check interval (0: off)
});
const socket = new Socket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`, (status) =>
  store.set("status", status));
const session = new Session(store, socket);
const crash = new CrashRound();

const app = {
  store,
  socket,
  session,
  crash,
  router: null,
  decimals: (currency) => store.get("currencies")[currency] ?? 2,
  format: (minor, currency, options) => formatAmount(minor, app.decimals(currency), options),
  /** A settled bet's profit in words: "+2.85 PLAY" (the payout less the stake, signed). */
  profit: ({ amount, payout, currency }) => `${formatAmount(payout - amount, app.decimals(currency), { sign: true })} ${currency}`,
  selectCurrency(code) {
    localStorage.setItem(CURRENCY_KEY, code);
    store.set("currency", code);
  },
  limits: (currency) => store.get("limits")[currency] ?? { min_bet: 1, max_bet: Number.MAX_SAFE_INTEGER },
  /** A starting amount: a hundred minimum bets, within the limits. */
  defaultBet: (currency) => Math.min(app.limits(currency).min_bet * 100, app.limits(currency).max_bet),
  maxBet(currency) {
    const balance = store.get("balances")[currency]?.balance ?? 0;
    return Math.max(app.limits(currency).min_bet, Math.min(balance, app.limits(currency).max_bet));
  },
  /** The limits of a currency in words, for LIMIT_EXCEEDED. */
  limitsText(currency) {
    const limits = app.limits(currency);
    return `bets ${app.format(limits.min_bet, currency)} to ${app.format(limits.max_bet, currency)} ${currency}, ` +
      `payouts up to ${app.format(limits.max_payout, currency)}`;
  },
  offeredGames: () => store.get("offered"),
  openAuth: null,
  /** True if signed in; otherwise opens the sign-in dialog. */
  requireUser() {
    if (store.get("user")) return true;
    app.openAuth("login");
    return false;
  },
  async playAsGuest() {
    try {
      await session.guest();
      toast("Welcome! Your guest account is ready.", "success");
    } catch (error) {
      toast(plainWords(error), "error");
    }
  },
  async logout() {
    if (store.get("user")?.kind === "guest" && !(await confirmGuestLogout(app))) return;
    await session.logout().catch((error) => toast(plainWords(error), "error"));
  },
  async loadMyBets() {
    if (!store.get("user")) return;
    const { items } = await socket.request("bets", { limit: FEED_LENGTH });
    store.set("myBets", items);
  },
  /** A bet of this user just settled: show it in "My bets". */
  recordBet(record) {
    countBet(store, record);
    store.set("myBets", [record, ...store.get("myBets").filter((bet) => bet.id !== record.id)].slice(0, FEED_LENGTH));
  },
};
app.openAuth = authDialog(app);

/** Each instance publishes its own newest bets: merge them, newest first. */
function mergeLiveBets(bets) {
  const seen = new Map(store.get("liveBets").map((bet) => [feedKey(bet), bet]));
  for (const bet of bets) seen.set(feedKey(bet), bet);
  store.set("liveBets", [...seen.values()].sort((a, b) => b.time - a.time).slice(0, FEED_LENGTH));
}
const feedKey = (bet) => `${bet.user}|${bet.time}|${bet.game}|${bet.amount}|${bet.payout}`;

function offer(game) {
  if (store.get("offered").has(game)) return;
  store.set("offered", new Set([...store.get("offered"), game]));
}

socket.on("balance", (data) => store.applyBalance(data));
socket.on("bets.live", (data) => mergeLiveBets(data.bets));
socket.on("crash.state", (data) => {
  if (data.round_id !== null) offer("crash");
  crash.applyState(data);
});
socket.on("crash.tick", (data) => {
  offer("crash"); // also where this instance does not greet with crash.state
  crash.applyTick(data);
});
socket.on("crash.bet", (data) => crash.applyPlayers(data));
socket.on("crash.cashout", (data) => crash.applyPlayers(data));
socket.on("crash.crashed", (data) => crash.applyCrashed(data));
socket.on("open", () => {
  // A reconnect: the server sends fresh balances; reload what pages show.
  if (store.get("user")) app.loadMyBets().catch(() => {});
});
let statsOf = null; // the user id the live stats belong to
store.watch("user", (user) => {
  if (!user) store.set("myBets", []);
  if (user?.id === statsOf) return;
  statsOf = user?.id ?? null;
  store.set("stats", { counted: new Set(), currencies: {} }); // a session's stats are one player's
});

async function loadCatalog() {
  const catalog = await api("/api/games");
  store.set("currencies", catalog.currencies);
  store.set("limits", catalog.limits);
  store.set("schemas", Object.fromEntries(Object.entries(catalog.games).map(([name, game]) => [name, game.params])));
  store.set("payoutTables", Object.fromEntries(Object.entries(catalog.games)
    .filter(([, game]) => game.payout_table).map(([name, game]) => [name, game.payout_table])));
  if (!(store.get("currency") in catalog.currencies)) store.set("currency", Object.keys(catalog.currencies)[0]);
  for (const game of Object.keys(catalog.games)) offer(game);
}

async function boot() {
  mountHeader(app);
  mountSidebar(app);
  mountRealityCheck(app);
  socket.connect();
  const view = document.getElementById("view");
  try {
    await Promise.all([loadCatalog(), session.restore()]);
  } catch (error) {
    view.replaceChildren(h("div", { class: "card empty-state" }, h("h1", {}, "Cannot reach the casino"),
      h("p", {}, plainWords(error)), h("button", { class: "btn btn-primary", onclick: () => location.reload() }, "Retry")));
    return;
  }
  const page = (mount) => ({ mount: (el) => mount(el, app) });
  app.router = new Router(view, {
    "": page(lobbyPage),
    dice: page(dicePage),
    limbo: page(limboPage),
    plinko: page(plinkoPage),
    keno: page(kenoPage),
    crash: page(crashPage),
    mines: page(minesPage),
    hilo: page(hiloPage),
    quiz: page(quizPage),
    wallet: page(walletPage),
    limits: page(limitsPage),
    fairness: page(fairnessPage),
  }, page(lobbyPage));
  app.router.render();
}

boot();
