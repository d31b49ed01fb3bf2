// The frame every step-by-step game (Mines, HiLo, Quiz) shares: bet panel,
// stage, recent results and the bets table. It starts a game (a fresh
// idempotency key per click), sends the game's actions one at a time, turns the
// bet button into "Cash out" while a game is open, and keeps the page on the
// newest state of the game: from replies, from `game.state` events (another
// tab playing), and from `<game>.active` on load, reconnect and sign-in.
// A game whose spec has `autoMoves` gets Autobet: whole games one after
// another, each started, played with those moves and cashed out.

import { h } from "../dom.js";
import { plainWords } from "../errors.js";
import { ApiError } from "../http.js";
import { applyMultiplier, compareDecimal, formatMultiplier } from "../money.js";
import { newKey } from "../random.js";
import { betControls } from "../ui/bet-controls.js";
import { betsTable } from "../ui/bets-table.js";
import { statsPanel } from "../ui/live-stats.js";
import { resultsStrip } from "../ui/results-strip.js";

/** What a game page shows while the server does not offer the game; re-renders once it does. */
export function notOffered(el, app, id, title) {
  el.append(h("section", { class: "card empty-state" }, h("h1", {}, title), h("p", {}, `${title} is not available on this server right now.`),
    h("a", { class: "btn btn-primary", href: "#/" }, "Back to the lobby")));
  return app.store.watch("offered", (offered) => offered.has(id) && app.router.render());
}

/**
 * Mount a step-by-step game in `el`. `spec`:
 * - game, title; fields (panel nodes under the amount); stage (node);
 * - startParams() -> extra start params, or null (the page showed why);
 * - progress(state) -> a number that grows with every change of one game;
 * - canCashout(state) -> bool;
 * - render(data, {previous, source}): show `data` (a reply or event: {bet_id,
 *   amount, currency, state, result, bet}) or null (no game); `previous` is the
 *   data shown before if it was the same game, `source` "start", "action",
 *   "event" or "resume";
 * - lock(locked): lock the start fields while a game is open;
 * - outcome(data) -> sentence for an ended game;
 * - setBusy(busy): disable the game's actions while one is in flight;
 * - autoMoves() (optional) -> the moves of one autobet game, [{action, params}],
 *   or null (the page showed why); onMode(auto) hears Manual / Auto.
 * Returns {act, current, controls, destroy}.
 */
export function steppedGame(el, app, spec) {
  const { store, socket } = app;
  const results = resultsStrip();
  const auto = spec.autoMoves ? {
    play: playWhole,
    check: () => (isOpen() ? "Finish the game in progress first" : spec.autoMoves() === null ? "Complete the game's settings first" : null),
    manual: () => renderControls(),
    onRun: () => renderControls(),
    onMode: spec.onMode,
  } : null;
  const controls = betControls(app, { fields: spec.fields, profitLabel: "Total profit", onBet: onButton, auto });
  const outcome = h("p", { class: "game-outcome", "aria-live": "polite", "data-testid": `${spec.game}-outcome` });
  const table = betsTable(app);
  const stats = statsPanel(app);
  el.append(
    h("section", { class: `game game-${spec.game}`, "aria-label": spec.title },
      h("div", { class: "card game-panel" }, controls.el, outcome),
      h("div", { class: "card game-stage" }, results.el, spec.stage)),
    stats.el,
    table.el);

  let game = null; // the newest reply or event of this game, ended or not
  let inFlight = null; // "start", "action" or "cashout"
  const settled = new Set(); // bet ids already counted in the results strip

  const isOpen = () => game?.state?.state === "active";

  /** Is `data` a newer state than what the page shows? */
  const isNewer = (data) => !game || data.bet_id > game.bet_id ||
    (data.bet_id === game.bet_id && spec.progress(data.state) > spec.progress(game.state));

  function apply(data, source) {
    if (data?.game !== spec.game) return;
    if (!data.state) {
      // A replayed start of a game that has ended since: show what is open now.
      if (data.bet) app.recordBet(data.bet);
      resync();
      return;
    }
    if (!isNewer(data)) return;
    const previous = game?.bet_id === data.bet_id ? game : null;
    game = data;
    if (data.state.state === "active") {
      // A game picked up (page load, another tab): show it in its own currency, with its stake.
      if (!previous && data.currency !== store.get("currency")) app.selectCurrency(data.currency);
      if (data.currency === store.get("currency")) controls.setAmount(data.amount);
      showOutcome("", true);
    }
    if (data.bet) settle(data);
    spec.render(data, { previous, source });
    renderControls();
  }

  function settle(data) {
    app.recordBet(data.bet);
    const won = data.state.state === "cashed";
    showOutcome(spec.outcome(data), won);
    if (settled.has(data.bet.id)) return;
    settled.add(data.bet.id);
    results.push(`${formatMultiplier(data.bet.multiplier)}×`, won);
  }

  function showOutcome(text, won) {
    outcome.textContent = text;
    outcome.className = `game-outcome ${won ? "win" : "loss"}`;
  }

  function renderControls() {
    const open = isOpen();
    if (controls.auto?.isAuto()) {
      controls.setLocked(controls.auto.running());
      spec.lock(open || controls.auto.running());
      spec.setBusy(controls.auto.running());
      controls.auto.render();
      return;
    }
    controls.setLocked(open || inFlight === "start");
    spec.lock(open || inFlight === "start");
    spec.setBusy(inFlight !== null);
    controls.setBusy(inFlight === "start" || inFlight === "cashout");
    if (!open) {
      controls.button.dataset.kind = "";
      controls.setLabel("Bet");
      controls.setProfitLabel("Total profit");
      controls.setProfitMultiplier(null);
      return;
    }
    const { state, amount, currency } = game;
    const can = spec.canCashout(state);
    controls.button.dataset.kind = "cashout";
    controls.setLabel(can ? `Cash out ${app.format(applyMultiplier(amount, state.multiplier), currency)}` : "Cash out");
    if (!can || inFlight) controls.button.disabled = true;
    const shown = compareDecimal(state.multiplier, "0") > 0 ? formatMultiplier(state.multiplier) : "0.00";
    controls.setProfitLabel(`Total profit (${shown}×)`);
    // The amount field shows the stake only in the game's currency (the player may switch).
    controls.setProfitMultiplier(can && currency === store.get("currency") ? state.multiplier : null);
  }

  async function run(kind, op, params, options) {
    inFlight = kind;
    renderControls();
    try {
      return await socket.request(op, params, options);
    } finally {
      inFlight = null;
      renderControls();
    }
  }

  /** The bet button: start a game, or cash out the open one. */
  async function onButton() {
    if (!app.requireUser() || inFlight) return;
    if (isOpen()) {
      if (spec.canCashout(game.state)) await act(null);
      return;
    }
    const params = spec.startParams();
    const amount = controls.amount();
    if (params === null || amount === null) return;
    const currency = store.get("currency");
    try {
      // Resent unchanged after a reconnect: the key makes the server answer with the same game.
      apply(await run("start", `${spec.game}.start`, { amount, currency, key: newKey(spec.game), ...params }), "start");
    } catch (error) {
      controls.showError(plainWords(error, error.code === "LIMIT_EXCEEDED" ? app.limitsText(currency) : ""));
      if (error.code === "GAME_ACTIVE") resync(); // opened in another tab: show it here
    }
  }

  /**
   * Send `<game>.<action>` (null: cashout) for the open game; resolves with the
   * reply, or null after showing why not. Actions are not resent after a drop
   * (a second guess is a new guess): the page resyncs instead.
   */
  async function act(action, params = {}) {
    if (!isOpen() || inFlight) return null;
    controls.showError("");
    try {
      const op = `${spec.game}.${action ?? "cashout"}`;
      const data = await run(action ? "action" : "cashout", op, params, { resend: false });
      apply(data, "action");
      return data;
    } catch (error) {
      controls.showError(plainWords(error));
      if (error.code === "GAME_NOT_ACTIVE") resync();
      return null;
    }
  }

  /** Autobet: one whole game with the spec's moves; resolves with its settled bet record. */
  async function playWhole(amount, currency) {
    const moves = spec.autoMoves();
    if (moves === null || isOpen()) throw new ApiError("BAD_REQUEST", "finish the game in progress first");
    apply(await run("start", `${spec.game}.start`, { amount, currency, key: newKey(spec.game), ...spec.startParams() }), "start");
    for (const move of moves) {
      if (!isOpen()) break;
      apply(await run("action", `${spec.game}.${move.action}`, move.params, { resend: false }), "action");
    }
    if (isOpen()) apply(await run("cashout", `${spec.game}.cashout`, {}, { resend: false }), "action");
    if (!game?.bet) throw new ApiError("INTERNAL", "the game's result did not arrive");
    return game.bet;
  }

  /** Load the game in progress; if the one shown ended unseen, load its result. */
  async function resync() {
    if (!store.get("user")) return;
    try {
      apply(await socket.request(`${spec.game}.active`), "resume");
    } catch (error) {
      if (error.code === "GAME_NOT_ACTIVE" && isOpen()) await loadEnded(game).catch(() => {});
    }
  }

  /** The settled bet of `shown` (ended in another tab, or by its timer) has its final view. */
  async function loadEnded(shown) {
    const { items } = await socket.request("bets", { game: spec.game, limit: 5 });
    const bet = items.find((item) => item.id === shown.bet_id);
    if (bet?.outcome?.view) apply({ ...shown, state: bet.outcome.view, result: {}, bet }, "resume");
  }

  const stops = [
    socket.on("game.state", (data) => apply(data, "event")),
    socket.on("open", () => resync()),
    socket.on("signed-in", () => resync()),
    store.watch("currency", (currency) => {
      if (isOpen() && currency === game.currency) controls.setAmount(game.amount);
      renderControls();
    }),
    store.watch("user", (user) => {
      if (user || !game) return;
      game = null;
      showOutcome("", true);
      spec.render(null, { previous: null, source: "resume" });
      renderControls();
    }),
  ];
  spec.render(null, { previous: null, source: "resume" });
  renderControls();
  resync();

  return {
    act,
    resync,
    controls,
    current: () => game,
    isOpen,
    busy: () => inFlight !== null,
    destroy() {
      stops.forEach((stop) => stop());
      controls.destroy();
      stats.destroy();
      table.destroy();
    },
  };
}
