// One bet's record in a dialog: what was staked and paid, when, and the seeds
// that decided it, with a Verify button that opens the Fairness page filled in.
// A live-feed bet is looked up by its public reference and shows the same; should
// the lookup fail, it shows the money the feed carries.

import { dateTime, h } from "../dom.js";
import { GAME_BY_ID } from "../games/catalog.js";
import { formatMultiplier } from "../money.js";
import { coin } from "./coin.js";

/** Open the record of `bet`; `player` names whose bet it is; `theirs`: another player's. */
export function openBetDetails(app, bet, player, { theirs = false } = {}) {
  const money = (minor, options) => h("span", { class: "money" }, app.format(minor, bet.currency, options), coin(bet.currency, 14));
  const profit = bet.payout - bet.amount;
  const row = (term, value, testid) =>
    h("div", { class: "fact" }, h("dt", {}, term), h("dd", { "data-testid": testid }, value));
  const seeds = "client_seed" in bet; // a record of the player's own, not a feed item
  const crash = bet.outcome?.hash !== undefined;
  const dialog = h("dialog", { class: "dialog bet-dialog", "aria-labelledby": "bet-title", "data-testid": "bet-details" },
    h("div", { class: "dialog-head" },
      h("h2", { id: "bet-title" }, GAME_BY_ID[bet.game]?.title ?? bet.game),
      h("button", { class: "btn btn-icon", type: "button", "aria-label": "Close", onclick: () => close() }, "✕")),
    h("dl", { class: "facts bet-facts" },
      player ? row("Player", player, "bet-player") : null,
      row("Time", dateTime(bet.settled_at ?? bet.time), "bet-time"),
      row("Bet", money(bet.amount), "bet-amount"),
      row("Multiplier", `${formatMultiplier(bet.multiplier)}×`, "bet-multiplier"),
      row("Payout", money(bet.payout), "bet-payout"),
      row("Profit", h("span", { class: profit > 0 ? "win" : "muted" }, money(profit, { sign: true })), "bet-profit")),
    seeds ? h("dl", { class: "facts bet-seeds" }, crash
      ? [row("Round", String(bet.outcome.round), "bet-round"), row("Crash point", `${bet.outcome.point}×`, "bet-point"),
        row("Round hash", h("span", { class: "mono" }, bet.outcome.hash), "bet-round-hash")]
      : [row("Server seed hash", h("span", { class: "mono" }, bet.server_seed_hash), "bet-seed-hash"),
        row("Client seed", h("span", { class: "mono" }, bet.client_seed), "bet-client-seed"),
        row("Nonce", String(bet.nonce), "bet-nonce"),
        row("Server seed", bet.server_seed
          ? h("span", { class: "mono" }, bet.server_seed)
          : h("span", { class: "muted" }, theirs
            ? "Hidden until the player rotates their seed pair"
            : "Hidden until you rotate your seed pair"), "bet-server-seed")]) : null,
    seeds ? h("button", {
      class: "btn btn-primary btn-block", type: "button", "data-testid": "bet-verify",
      onclick: () => {
        app.verifyNext = bet; // the Fairness page picks it up as it mounts
        close();
        location.hash = "#/fairness";
      },
    }, "Verify") : h("p", { class: "hint" }, "This bet's record cannot be read right now."));
  const close = () => dialog.close();
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
