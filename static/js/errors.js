// Server error codes in plain words for players.

import { dateTime } from "./dom.js";

const WORDS = {
  INSUFFICIENT_FUNDS: "Not enough balance",
  LIMIT_EXCEEDED: "That bet is outside the table limits",
  ROUND_CLOSED: "Bets are closed for this round — wait for the next one",
  ALREADY_BET: "You already have a bet in this round",
  NO_BET: "You have no bet in this round",
  GAME_ACTIVE: "You already have a game in progress — finish it first",
  GAME_NOT_ACTIVE: "That game is already over",
  RATE_LIMITED: "Slow down — too many requests",
  BUSY: "Another action of your account is in progress — try again",
  UNAUTHENTICATED: "Please sign in first",
  INVALID_CREDENTIALS: "Wrong username or password",
  USERNAME_TAKEN: "That username is taken",
  INVALID_AMOUNT: "Enter a valid amount",
  UNKNOWN_CURRENCY: "That currency is not available",
  IDEMPOTENCY_CONFLICT: "That request was already used for another bet",
  FORBIDDEN: "You are not allowed to do that",
  LOSS_LIMIT: "This bet would break your loss limit",
  WAGER_LIMIT: "This bet would break your wager limit",
  DEPOSIT_LIMIT: "This would break your deposit limit",
  COOL_OFF: "Your account is in a cool-off: no bets and no deposits",
  SELF_EXCLUDED: "Your account is self-excluded: no bets and no deposits",
  UNKNOWN_ZONE: "That time zone is not known",
  ZONE_LOCKED: "The time zone cannot change while a limit is set (or waits to be removed)",
  NETWORK: "The server cannot be reached — check your connection",
  DISCONNECTED: "The connection dropped — try again",
  INTERNAL: "Something went wrong on the server — try again",
};

/** The sentence to show for an error; `detail` adds context (limits, wait time). A refusal
 * by one of the player's own limits says when it resets or ends. */
export function plainWords(error, detail = "") {
  const words = WORDS[error?.code];
  if (!words) return error?.message ? capitalize(error.message) : "Something went wrong";
  if (error.data && "resets_at" in error.data) return `${words} — ${resetsText(error)}`;
  return detail ? `${words}: ${detail}` : words;
}

function resetsText(error) {
  const at = error.data.resets_at;
  const pause = error.code === "COOL_OFF" || error.code === "SELF_EXCLUDED";
  if (at === null) return "permanently";
  return `${pause ? "it ends" : "it resets"} ${dateTime(at)}`;
}

function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
