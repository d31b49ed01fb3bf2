// Crash: the live round on a canvas, bet (with optional auto cashout) during
// BETTING, cash out while RUNNING, the round's players and recent points.
// A bet clicked outside BETTING, or refused as too late, waits for the next
// round (and can be cancelled), and the page says so. Autobet bets one round
// after another with the auto cashout set.

import { h, replaceChildren } from "../dom.js";
import { CrashChart } from "../crash/chart.js";
import { plainWords } from "../errors.js";
import { ApiError } from "../http.js";
import { applyMultiplier, formatAmount, parseDecimal } from "../money.js";
import { newKey } from "../random.js";
import { betControls } from "../ui/bet-controls.js";
import { coin } from "../ui/coin.js";
import { countBet, statsPanel } from "../ui/live-stats.js";
import { resultsStrip } from "../ui/results-strip.js";

const MIN_AUTO = 101; // 1.01x in hundredths
const MAX_AUTO = 100_000_000; // the server's cap, 1,000,000x, in hundredths

export function crashPage(el, app) {
  const { store, socket, crash: round } = app;
  if (!store.get("offered").has("crash")) {
    el.append(h("section", { class: "card empty-state" }, h("h1", {}, "Crash"), h("p", {}, "Crash is not running on this server right now.")));
    return store.watch("offered", (offered) => offered.has("crash") && app.router.render());
  }
  let queued = null; // a bet waiting for the next round: {amount, currency, auto, key, resolve?, reject?}
  let placed = null; // this page's bet in the round in progress: the same, with its round
  let inFlight = false;
  let frame = 0;

  const autoInput = h("input", { class: "input", id: "crash-auto", inputMode: "decimal", placeholder: "Off", "data-testid": "crash-auto" });
  const autoError = h("p", { class: "field-error", id: "crash-auto-error", "aria-live": "polite" });
  autoInput.setAttribute("aria-describedby", autoError.id);
  const controls = betControls(app, {
    label: "Place bet",
    fields: [h("div", { class: "field" }, h("label", { for: "crash-auto" }, "Auto cashout"),
      h("div", { class: "input-wrap" }, autoInput, h("span", { class: "suffix" }, "×")), autoError)],
    showProfit: false,
    onBet: act,
    auto: {
      play: playRound, check: autoCheck, manual: () => render(),
      cancel() { // a bet still waiting for its round is not sent
        queued?.reject?.(new ApiError("CANCELLED", "autobet stopped"));
        if (queued?.reject) queued = null;
      },
    },
  });
  const stats = statsPanel(app);
  const canvas = h("canvas", { class: "crash-canvas", role: "img", "aria-label": "Crash round chart" });
  const chart = new CrashChart(canvas);
  const history = resultsStrip(12);
  const players = h("tbody");
  const playerCount = h("span", { class: "muted" });
  const status = h("p", { class: "sr-only", "aria-live": "polite" });
  const outcome = h("p", { class: "crash-outcome", "aria-live": "polite", "data-testid": "crash-outcome" });
  el.append(
    h("section", { class: "game game-crash", "aria-label": "Crash" },
      h("div", { class: "card game-panel" }, controls.el, outcome,
        h("div", { class: "players" }, h("div", { class: "card-head" }, h("h2", {}, "Players"), playerCount),
          h("div", { class: "table-scroll" }, h("table", { class: "table players-table", "data-testid": "crash-players" }, players)))),
      h("div", { class: "card game-stage" }, history.el, h("div", { class: "crash-frame" }, canvas), status)),
    stats.el);

  const me = () => store.get("user")?.name; // players are listed by public name only
  const mine = () => round.players.get(me());

  /** The auto cashout as a "2.00" string, "" for none, or null after showing the error. */
  const autoCashout = () => {
    const text = autoInput.value.trim();
    if (!text) return "";
    const parsed = parseDecimal(text, 2);
    if (parsed.error || parsed.minor < MIN_AUTO || parsed.minor > MAX_AUTO) {
      autoError.textContent = parsed.error ?? (parsed.minor < MIN_AUTO
        ? "At least 1.01"
        : `Auto cashout is at most ${formatAmount(MAX_AUTO, 2)}×`);
      return null;
    }
    autoError.textContent = "";
    return `${Math.floor(parsed.minor / 100)}.${String(parsed.minor % 100).padStart(2, "0")}`;
  };

  const showOutcome = (text, won) => {
    outcome.textContent = text;
    outcome.className = `crash-outcome ${won ? "win" : "loss"}`;
  };

  /** Say once per round that this player's bet cashed out, by hand or automatically. */
  let announced = null; // the round whose cashout was announced
  const announceCashout = (bet) => {
    if (announced === round.roundId) return;
    announced = round.roundId;
    showOutcome(`Cashed out at ${bet.multiplier}× — profit ${app.profit(bet)}`, true);
  };

  async function send(bet) {
    showOutcome("", false);
    inFlight = true;
    render();
    try {
      const reply = await socket.request("crash.bet", {
        amount: bet.amount, currency: bet.currency, key: bet.key, ...(bet.auto ? { auto_cashout: bet.auto } : {}),
      });
      placed = { ...bet, round: reply.round_id };
    } catch (error) {
      if (error.code === "ROUND_CLOSED") {
        // Too late for this round: the bet waits for the next one (a new key: a new bet).
        queued = { ...bet, key: newKey("crash") };
        showOutcome("Too late for this round — your bet goes into the next one", false);
      } else if (bet.reject) bet.reject(error);
      else controls.showError(plainWords(error, error.code === "LIMIT_EXCEEDED" ? app.limitsText(bet.currency) : ""));
    } finally {
      inFlight = false;
      render();
    }
  }

  async function cashout() {
    inFlight = true;
    render();
    try {
      const result = await socket.request("crash.cashout");
      announceCashout({ ...mine(), multiplier: result.multiplier, payout: result.payout });
    } catch (error) {
      controls.showError(plainWords(error));
    } finally {
      inFlight = false;
      render();
    }
  }

  /** Autobet: the auto cashout it needs, or why it cannot start. */
  function autoCheck() {
    const auto = autoCashout();
    if (auto === null) return "Fix the auto cashout first";
    return auto ? null : "Autobet needs an auto cashout";
  }

  /** Autobet: one bet in the next round open to bets; resolves when that round crashes. */
  function playRound(amount, currency) {
    const auto = autoCashout();
    if (!auto) return Promise.reject(new ApiError("BAD_REQUEST", "autobet needs an auto cashout"));
    return new Promise((resolve, reject) => {
      const bet = { amount, currency, auto, key: newKey("crash"), resolve, reject };
      if (round.phase === "betting" && !mine()) send(bet);
      else queued = bet;
      render();
    });
  }

  /** The round of this page's bet crashed: count it, and answer autobet. */
  function settlePlaced() {
    const bet = mine();
    const payout = bet?.status === "cashed" ? bet.payout : bet?.status === "void" ? placed.amount : 0;
    const record = { game: "crash", id: `round-${placed.round}`, amount: placed.amount, currency: placed.currency, payout };
    if (bet?.status !== "void") countBet(store, record);
    placed.resolve?.(record);
    placed = null;
  }

  /** The round of this page's bet ended unseen (the connection dropped): read its record. */
  async function settleUnseen() {
    const bet = placed;
    placed = null;
    try {
      const { items } = await socket.request("bets", { game: "crash", limit: 5 });
      const record = items.find((item) => item.outcome?.round === bet.round);
      if (!record) throw new ApiError("NOT_FOUND", "the result of your last round is not known yet");
      app.recordBet(record);
      bet.resolve?.(record);
    } catch (error) {
      bet.reject?.(error);
    }
  }

  function act() {
    if (!app.requireUser()) return;
    if (queued) {
      queued = null;
      render();
      return;
    }
    const bet = mine();
    if (round.phase === "running" && bet?.status === "open") {
      cashout();
      return;
    }
    const amount = controls.amount();
    const auto = autoCashout();
    if (amount === null || auto === null) return;
    const next = { amount, currency: store.get("currency"), auto, key: newKey("crash") };
    if (round.phase === "betting" && !bet) send(next);
    else {
      queued = next;
      render();
    }
  }

  function buttonState() {
    const bet = mine();
    if (!store.get("user")) return { label: "Sign in to play" };
    if (inFlight) return { label: "…", disabled: true };
    if (queued) return { label: "Cancel next-round bet", kind: "queued" };
    if (round.phase === "betting") return bet ? { label: "Bet placed — good luck", disabled: true } : { label: "Place bet" };
    if (round.phase === "running" && bet?.status === "open") {
      const multiplier = round.multiplierNow().toFixed(2);
      return { label: `Cash out ${app.format(applyMultiplier(bet.amount, multiplier), bet.currency)}`, kind: "cashout" };
    }
    if (bet?.status === "cashed") return { label: `Cashed out at ${bet.multiplier}×`, disabled: true };
    if (!round.phase) return { label: "Waiting for the round…", disabled: true };
    return { label: "Bet on next round" };
  }

  function render() {
    if (controls.auto.isAuto()) {
      controls.auto.render();
      return;
    }
    const state = buttonState();
    controls.setLabel(state.label);
    controls.button.disabled = Boolean(state.disabled);
    controls.button.dataset.kind = state.kind ?? "";
  }

  function renderPlayers() {
    const list = [...round.players.values()].sort((a, b) => b.amount - a.amount);
    playerCount.textContent = `${list.length} playing`;
    if (!list.length) {
      replaceChildren(players, h("tr", {}, h("td", { class: "empty", colspan: 3 }, "No bets in this round yet")));
      return;
    }
    replaceChildren(players, list.map((player) => h("tr", { class: `player-${player.status}${player.name === me() ? " me" : ""}` },
      h("td", {}, player.name),
      h("td", { class: "num" }, player.multiplier ? `${player.multiplier}×` : player.status === "open" ? "—" : player.status),
      h("td", { class: "num" }, h("span", { class: "money" },
        app.format(player.status === "cashed" ? player.payout : player.amount, player.currency), coin(player.currency, 14))))));
  }

  function renderHistory() {
    history.el.replaceChildren();
    for (const entry of [...round.history].reverse()) history.push(`${entry.point}×`, Number(entry.point) >= 2);
  }

  const stop = round.subscribe((kind) => {
    if (kind === "state" && placed && round.roundId !== placed.round) settleUnseen();
    if (kind === "state" && round.phase === "betting" && queued && !mine()) {
      const bet = queued;
      queued = null;
      send(bet);
    }
    if (kind === "state") status.textContent = round.phase === "betting" ? "Betting is open" : round.phase === "running" ? "The round has started" : "";
    if (kind === "crashed") {
      status.textContent = `Crashed at ${round.crash.point}×`;
      if (mine()?.status === "lost") showOutcome(`Busted at ${round.crash.point}× — bet lost`, false);
      if (placed?.round === round.roundId) settlePlaced();
    }
    if (kind === "players" && mine()?.status === "cashed") announceCashout(mine()); // an automatic cashout
    if (kind === "crashed" || kind === "history") renderHistory();
    if (kind !== "tick") renderPlayers();
    render();
  });
  const unwatchUser = store.watch("user", () => {
    render();
    renderPlayers();
  });
  const loop = () => {
    chart.draw(round);
    if (round.phase === "running" && mine()?.status === "open") render();
    frame = requestAnimationFrame(loop);
  };
  frame = requestAnimationFrame(loop);
  socket.request("crash.history").then(({ items }) => round.setHistory(items)).catch(() => {});
  renderHistory();
  renderPlayers();
  render();

  return () => {
    cancelAnimationFrame(frame);
    stop();
    unwatchUser();
    chart.destroy();
    controls.destroy();
    stats.destroy();
    queued?.reject?.(new ApiError("BAD_REQUEST", "left the page"));
  };
}
