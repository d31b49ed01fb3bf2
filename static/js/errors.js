// Server error codes in plain words for players.

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
  NETWORK: "The server cannot be reached — check your connection",
  DISCONNECTED: "The connection dropped — try again",
  INTERNAL: "Something went wrong on the server — try again",
};

/** The sentence to show for an error; `detail` adds context (limits, wait time). */
export function plainWords(error, detail = "") {
  const words = WORDS[error?.code];
  if (!words) return error?.message ? capitalize(error.message) : "Something went wrong";
  return detail ? `${words}: ${detail}` : words;
}

function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
