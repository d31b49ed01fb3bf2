// The left panel of every game: amount in currency units (1/2, 2x, max),
// game fields, profit on win and the bet button (Space bets from anywhere
// outside a form field). Amounts are parsed into exact integer minor units.
// A bet pressed while reconnecting says at once that it waits for the connection.
// With `auto` (see autobet.js) the panel has Manual / Auto tabs, and in Auto the
// bet button starts and stops the run.

import { h } from "../dom.js";
import { applyMultiplier, double, formatAmount, halve, parseDecimal } from "../money.js";
import { autobet } from "./autobet.js";
import { coin } from "./coin.js";
import { statsToggle } from "./live-stats.js";

const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT", "BUTTON", "A"]);

export function betControls(app, { label = "Bet", fields = [], showProfit = true, profitLabel = "Profit on win", onBet, auto = null }) {
  const { store } = app;
  const input = h("input", {
    id: "bet-amount", class: "input amount-input", inputMode: "decimal", autocomplete: "off",
    spellcheck: "false", "aria-describedby": "bet-amount-error", "data-testid": "bet-amount",
  });
  const coinSlot = h("span", { class: "input-coin" });
  const fieldError = h("p", { class: "field-error", id: "bet-amount-error", "aria-live": "polite" });
  const profit = h("output", { class: "input readonly", id: "bet-profit", "data-testid": "profit" }, "—");
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "bet-error" });
  const notice = h("p", { class: "form-note", "aria-live": "polite", "data-testid": "bet-notice" });
  const button = h("button", { class: "btn btn-bet", type: "button", "data-testid": "bet-button" }, label);
  const profitTitle = h("label", { for: "bet-profit" }, profitLabel);
  const toggle = statsToggle(app);
  let busy = false;
  let profitMultiplier = null;

  const currency = () => store.get("currency");
  const decimals = () => app.decimals(currency());
  const write = (minor) => {
    input.value = formatAmount(minor, decimals(), { grouping: false });
    input.dispatchEvent(new Event("input"));
  };
  const parse = () => parseDecimal(input.value, decimals());
  const current = () => parse().minor;
  /** Say why the amount is refused; it stays as typed for the player to fix. */
  const refuse = (message) => {
    fieldError.textContent = message;
    input.setAttribute("aria-invalid", "true");
  };
  const adjust = (change) => {
    const minor = current();
    if (minor !== undefined) write(change(minor));
  };

  const renderProfit = () => {
    const minor = current();
    profit.textContent = minor !== undefined && profitMultiplier
      ? app.format(Math.max(0, applyMultiplier(minor, profitMultiplier) - minor), currency())
      : "—";
  };
  input.addEventListener("change", () => {
    const parsed = parse();
    if (parsed.error) refuse(parsed.error);
    else write(parsed.minor); // show it as the currency writes it: "10" -> "10.00", "1,5" -> "1.50"
  });
  input.addEventListener("input", () => {
    fieldError.textContent = "";
    input.removeAttribute("aria-invalid");
    renderProfit();
  });

  const chips = [
    h("button", { type: "button", class: "btn btn-chip", "aria-label": "Halve the amount", onclick: () => adjust(halve) }, "½"),
    h("button", { type: "button", class: "btn btn-chip", "aria-label": "Double the amount", onclick: () => adjust(double) }, "2×"),
    h("button", { type: "button", class: "btn btn-chip", "aria-label": "Bet the maximum", onclick: () => write(app.maxBet(currency())) }, "Max"),
  ];
  const el = h("form", { class: "bet-panel", onsubmit: (event) => { event.preventDefault(); button.click(); } },
    h("div", { class: "field" },
      h("label", { for: "bet-amount" }, "Bet amount"),
      h("div", { class: "amount-row" }, h("div", { class: "input-wrap" }, input, coinSlot), chips),
      fieldError),
    fields,
    showProfit ? h("div", { class: "field" }, profitTitle, profit) : null,
    button,
    error,
    notice,
    h("div", { class: "panel-foot" }, h("p", { class: "hint" }, h("kbd", {}, "Space"), " to bet"), toggle.el),
  );

  button.addEventListener("click", () => {
    if (busy || button.disabled) return;
    error.textContent = "";
    if (controls.auto?.isAuto()) {
      controls.auto.toggle();
      return;
    }
    if (store.get("status") !== "live") notice.textContent = "Reconnecting — your bet goes out once the connection is back";
    onBet();
  });
  const hotkey = (event) => {
    if (event.code !== "Space" || event.repeat || TYPING.has(document.activeElement?.tagName)) return;
    if (document.querySelector("dialog[open]")) return;
    event.preventDefault();
    button.click();
  };
  document.addEventListener("keydown", hotkey);

  const unwatchCurrency = store.watch("currency", (code) => {
    coinSlot.replaceChildren(coin(code, 16));
    write(app.defaultBet(code));
  });
  const unwatchStatus = store.watch("status", (status) => {
    if (status === "live") notice.textContent = "";
  });

  const controls = {
    el,
    button,
    auto: null,
    /** The amount in minor units, or null after showing why it is not valid. */
    amount() {
      const parsed = parse();
      if (parsed.error) {
        refuse(parsed.error);
        input.focus();
        return null;
      }
      return parsed.minor;
    },
    setBusy(value) {
      busy = value;
      button.disabled = value;
      button.classList.toggle("busy", value);
    },
    setLabel(text) {
      button.textContent = text;
    },
    /** Show `minor` in the amount field (a game in progress shows its own stake). */
    setAmount(minor) {
      if (current() !== minor) write(minor);
    },
    /** Lock the amount while a game is in progress. */
    setLocked(value) {
      input.readOnly = value;
      for (const chip of chips) chip.disabled = value;
    },
    setProfitLabel(text) {
      profitTitle.textContent = text;
    },
    showError(message) {
      error.textContent = message;
    },
    /** Show the profit a win at `multiplier` (decimal string) would pay; null hides it. */
    setProfitMultiplier(multiplier) {
      profitMultiplier = multiplier;
      renderProfit();
    },
    destroy() {
      controls.auto?.destroy();
      toggle.destroy();
      document.removeEventListener("keydown", hotkey);
      unwatchCurrency();
      unwatchStatus();
    },
  };
  if (auto) {
    controls.auto = autobet(app, controls, auto);
    el.prepend(controls.auto.tabs);
    button.before(controls.auto.fields);
  }
  return controls;
}
