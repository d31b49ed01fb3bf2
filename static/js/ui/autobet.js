// Autobet: the Manual / Auto tabs of a game's bet panel and the strategy that
// runs in this page. Auto places one bet after another through the game's own
// `play(amount, currency)` (each bet with its own idempotency key), changes the
// stake on a win or a loss (reset to the base amount, or increase by a
// percentage), and stops after the number of bets, on a profit or loss
// target, on a single win above an amount, on any error (insufficient funds
// among them), when the connection drops, and when the player presses Stop.
// A bet is a win when it pays more than its stake.

import { h } from "../dom.js";
import { plainWords } from "../errors.js";
import { MAX_MINOR, formatAmount, parseDecimal } from "../money.js";

const PAUSE_MS = 150; // between two bets: each result shows before the next one goes out

/** The stake after a percentage increase (hundredths of a percent), exactly, in minor units. */
export function increased(stake, hundredthsOfPercent) {
  const next = BigInt(stake) + (BigInt(stake) * BigInt(hundredthsOfPercent)) / 10000n;
  return Number(next > BigInt(MAX_MINOR) ? BigInt(MAX_MINOR) : next);
}

/** A labelled input for the auto fields. */
function input(id, label, placeholder) {
  const el = h("input", { class: "input", id, inputMode: "decimal", autocomplete: "off", placeholder, "data-testid": id });
  return { el, field: h("div", { class: "field" }, h("label", { for: id }, label), el) };
}

/** "On win" / "On loss": reset to the base amount or increase by a percentage. */
function stakeRule(id, label) {
  const modes = ["reset", "increase"];
  let mode = "reset";
  const percent = h("input", {
    class: "input", id: `${id}-percent`, inputMode: "decimal", autocomplete: "off", disabled: true,
    "aria-label": `${label}: increase by percent`, "data-testid": `${id}-percent`,
  });
  const buttons = modes.map((value) => h("button", {
    type: "button", class: "tab", "aria-pressed": String(value === mode), "data-testid": `${id}-${value}`,
    onclick: () => {
      mode = value;
      buttons.forEach((button, i) => button.setAttribute("aria-pressed", String(modes[i] === mode)));
      percent.disabled = mode === "reset";
      if (mode === "increase") percent.focus();
    },
  }, value === "reset" ? "Reset" : "Increase by"));
  const field = h("div", { class: "field" }, h("label", { for: `${id}-percent` }, label),
    h("div", { class: "rule-row" }, h("div", { class: "tabs rule-tabs" }, buttons),
      h("div", { class: "input-wrap" }, percent, h("span", { class: "suffix" }, "%"))));
  return {
    field,
    /** {hundredths} of a percent (0 for reset), or {error}. */
    read() {
      if (mode === "reset" || /^0*[.,]?0*$/.test(percent.value.trim())) return { hundredths: 0 };
      const parsed = parseDecimal(percent.value, 2);
      return parsed.error ? { error: `${label}: ${parsed.error}` } : { hundredths: parsed.minor };
    },
    setDisabled(value) {
      buttons.forEach((button) => { button.disabled = value; });
      percent.disabled = value || mode === "reset";
    },
  };
}

/**
 * The Manual / Auto tabs for a bet panel. `controls`: the panel's {amount(),
 * setAmount(minor), setLabel(text), showError(text), button}; `game.play(amount,
 * currency)` places one bet and resolves with {amount, payout} or rejects with
 * the server's error; `game.check()` (optional) returns a sentence when the game
 * cannot start (no tiles chosen...), else null; `game.manual()` (optional)
 * renders the bet button of Manual, `game.onMode(auto)` hears a switch and
 * `game.onRun(running)` a run starting or ending, and `game.cancel()` a stop
 * (a bet not sent yet need not be).
 * Returns {tabs, fields, isAuto(), running(), render(), toggle(), destroy()}.
 */
export function autobet(app, controls, game) {
  const { store } = app;
  let auto = false;
  let run = null; // the run in progress: {currency, stopReason}
  const counts = { bets: 0, wins: 0, losses: 0, profit: 0 };

  const tabButtons = ["Manual", "Auto"].map((title) => h("button", {
    type: "button", role: "tab", class: "tab", "aria-selected": String(title === "Manual"),
    "data-testid": `mode-${title.toLowerCase()}`, onclick: () => setAuto(title === "Auto"),
  }, title));
  const tabs = h("div", { class: "tabs mode-tabs", role: "tablist", "aria-label": "Betting mode" }, tabButtons);

  const count = input("auto-count", "Number of bets", "0 = unlimited");
  const onWin = stakeRule("auto-win", "On win");
  const onLoss = stakeRule("auto-loss", "On loss");
  const stopProfit = input("auto-stop-profit", "Stop on profit", "Off");
  const stopLoss = input("auto-stop-loss", "Stop on loss", "Off");
  const stopWin = input("auto-stop-win", "Stop on a single win above", "Off");
  const counter = (name) => h("output", { class: "auto-count", "data-testid": `auto-${name}` }, "0");
  const shown = { bets: counter("bets"), wins: counter("wins"), losses: counter("losses"), profit: counter("profit") };
  const status = h("p", { class: "auto-status", "aria-live": "polite", "data-testid": "auto-status" });
  const error = h("p", { class: "field-error", "aria-live": "polite" });
  const inputs = [count.el, stopProfit.el, stopLoss.el, stopWin.el];
  const fields = h("div", { class: "auto-fields", hidden: true },
    count.field, onWin.field, onLoss.field,
    h("div", { class: "field-row" }, stopProfit.field, stopLoss.field),
    stopWin.field,
    error,
    h("dl", { class: "auto-counters", "aria-label": "Autobet so far" },
      ["bets", "wins", "losses", "profit"].map((name) => h("div", {},
        h("dt", {}, name.charAt(0).toUpperCase() + name.slice(1)), h("dd", {}, shown[name])))),
    status);

  const decimals = () => app.decimals(store.get("currency"));
  /** An optional amount field in minor units: {minor} (null when blank) or {error}. */
  const optionalAmount = (field, label) => {
    const text = field.el.value.trim();
    if (!text) return { minor: null };
    const parsed = parseDecimal(text, decimals());
    return parsed.error ? { error: `${label}: ${parsed.error}` } : parsed;
  };

  /** The strategy from the fields, or {error}. */
  function strategy() {
    const text = count.el.value.trim() || "0";
    if (!/^\d{1,9}$/.test(text)) return { error: "Number of bets: a whole number (0 = unlimited)" };
    const read = [onWin.read(), onLoss.read(), optionalAmount(stopProfit, "Stop on profit"),
      optionalAmount(stopLoss, "Stop on loss"), optionalAmount(stopWin, "Stop on a single win above")];
    const failed = read.find((item) => item.error);
    if (failed) return failed;
    const [win, loss, profit, lossLimit, bigWin] = read;
    return {
      bets: Number(text), win: win.hundredths, loss: loss.hundredths,
      profit: profit.minor, lossLimit: lossLimit.minor, bigWin: bigWin.minor,
    };
  }

  function renderCounts(currency) {
    shown.bets.textContent = String(counts.bets);
    shown.wins.textContent = String(counts.wins);
    shown.losses.textContent = String(counts.losses);
    shown.profit.textContent = formatAmount(counts.profit, app.decimals(currency), { sign: true });
    shown.profit.className = `auto-count ${counts.profit > 0 ? "win" : counts.profit < 0 ? "loss" : ""}`;
  }

  function renderButton() {
    if (!auto) {
      if (game.manual) game.manual();
      else {
        controls.setLabel("Bet");
        controls.button.dataset.kind = "";
        controls.button.disabled = false;
      }
      return;
    }
    controls.setLabel(run ? (run.stopReason ? "Stopping…" : "Stop autobet") : "Start autobet");
    controls.button.dataset.kind = run ? "stop" : "";
    controls.button.disabled = Boolean(run?.stopReason);
  }

  function setAuto(value) {
    if (run) return; // the tabs stay put while a run goes on
    auto = value;
    tabButtons.forEach((button, i) => button.setAttribute("aria-selected", String((i === 1) === auto)));
    fields.hidden = !auto;
    game.onMode?.(auto);
    renderButton();
  }

  function lock(locked) {
    controls.setLocked(locked);
    tabButtons.forEach((button) => { button.disabled = locked; });
    inputs.forEach((el) => { el.readOnly = locked; });
    onWin.setDisabled(locked);
    onLoss.setDisabled(locked);
  }

  /** End the run after the bet in flight (if any); `reason` is shown. */
  function stop(reason) {
    if (!run || run.stopReason) return;
    run.stopReason = reason;
    status.textContent = `Stopped: ${reason}`;
    renderButton();
    game.cancel?.();
  }

  async function start() {
    const plan = strategy();
    const base = controls.amount();
    const offline = store.get("status") !== "live" ? "Wait for the connection to start autobet" : null;
    const refusal = plan.error ?? offline ?? game.check?.() ?? null;
    error.textContent = refusal ?? "";
    if (refusal || base === null) return;
    const currency = store.get("currency");
    run = { currency, stopReason: null };
    Object.assign(counts, { bets: 0, wins: 0, losses: 0, profit: 0 });
    renderCounts(currency);
    status.textContent = "Running";
    controls.showError("");
    lock(true);
    renderButton();
    game.onRun?.(true);
    let stake = base;
    while (!run.stopReason) {
      let result;
      try {
        result = await game.play(stake, currency);
      } catch (failure) {
        if (run.stopReason) break; // stopped while the bet waited, and not sent
        controls.showError(plainWords(failure, failure.code === "LIMIT_EXCEEDED" ? app.limitsText(currency) : ""));
        stop(plainWords(failure));
        break;
      }
      const profit = result.payout - result.amount;
      counts.bets += 1;
      counts.profit += profit;
      if (profit > 0) counts.wins += 1;
      else counts.losses += 1;
      renderCounts(currency);
      stake = profit > 0 ? (plan.win ? increased(stake, plan.win) : base) : (plan.loss ? increased(stake, plan.loss) : base);
      if (plan.bets && counts.bets >= plan.bets) stop(`${counts.bets} ${counts.bets === 1 ? "bet" : "bets"} placed`);
      else if (plan.profit !== null && counts.profit >= plan.profit) stop("profit target reached");
      else if (plan.lossLimit !== null && -counts.profit >= plan.lossLimit) stop("loss limit reached");
      else if (plan.bigWin !== null && profit > plan.bigWin) stop("a single win above the limit");
      if (!run.stopReason) {
        controls.setAmount(stake);
        await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
      }
    }
    run = null;
    lock(false);
    controls.setAmount(base); // the player's base amount again, for the next run
    renderButton();
    game.onRun?.(false);
  }

  const stops = [
    store.watch("status", (value) => value !== "live" && stop("the connection dropped")),
    store.watch("user", (user) => !user && stop("signed out")),
    store.watch("currency", (currency) => run && currency !== run.currency && stop("the currency changed")),
  ];

  return {
    tabs,
    fields,
    isAuto: () => auto,
    running: () => run !== null,
    render: renderButton,
    /** The bet button in Auto: start a run, or stop the one going on. */
    toggle() {
      if (run) stop("you pressed Stop");
      else if (app.requireUser()) start();
    },
    destroy() {
      stop("left the page");
      stops.forEach((unwatch) => unwatch());
    },
  };
}
