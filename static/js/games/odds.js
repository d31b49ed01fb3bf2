// The step-by-step games' odds, exactly (BigInt rationals), for display only:
// the server's multiplier is the one that pays.

const PLACES = 10000n; // multipliers are floored to 4 decimals

/** A non-negative rational num/den floored to 4 decimals, as "1.2345". */
function floor4(num, den) {
  const scaled = (num * PLACES) / den;
  return `${scaled / PLACES}.${String(scaled % PLACES).padStart(4, "0")}`;
}

function choose(n, k) {
  let result = 1n;
  for (let i = 0n; i < BigInt(k); i += 1n) result = (result * (BigInt(n) - i)) / (i + 1n);
  return result;
}

export const MINES_TILES = 25;

/** Mines: 0.99 x C(25, k) / C(25 - m, k) after k safe tiles with m mines, floored; null if impossible. */
export function minesMultiplier(mines, safe) {
  if (safe < 0 || safe > MINES_TILES - mines) return null;
  return floor4(99n * choose(MINES_TILES, safe), 100n * choose(MINES_TILES - mines, safe));
}

/** Mines: the chance in percent, floored to 2 decimals, that the next tile after `safe` gems is one
 * more gem: (25 - mines - safe) / (25 - safe); null if no tile is left to reveal. */
export function minesChance(mines, safe) {
  const hidden = MINES_TILES - safe;
  const gems = hidden - mines;
  if (safe < 0 || gems <= 0) return null;
  const scaled = (BigInt(gems) * 10000n) / BigInt(hidden);
  return `${scaled / 100n}.${String(scaled % 100n).padStart(2, "0")}`;
}

export const HILO_RANKS = ["2", "3", "4", "5", "6", "7", "8", "9", "10", "J", "Q", "K", "A"];
const RED_SUITS = new Set(["♦", "♥"]);

/** A HiLo card label ("♦Q", "♣10") as {suit, rank (text), value (0 = two ... 12 = ace), red}. */
export function parseCard(label) {
  const suit = label.charAt(0);
  const rank = label.slice(1);
  return { suit, rank, value: HILO_RANKS.indexOf(rank), red: RED_SUITS.has(suit) };
}

/** How many of the 13 ranks win `guess` made on rank `value`. */
function winningRanks(guess, value) {
  return guess === "higher_or_same" ? 13 - value : value + 1;
}

/** HiLo: the win chance of `guess` on rank `value` in percent, floored to 2 decimals ("61.53"). */
export function hiloChance(guess, value) {
  const scaled = (BigInt(winningRanks(guess, value)) * 10000n) / 13n;
  return `${scaled / 100n}.${String(scaled % 100n).padStart(2, "0")}`;
}

/** HiLo: the factor a right `guess` on rank `value` applies, 0.99 / p, floored to 4 decimals. */
export function hiloStepMultiplier(guess, value) {
  return floor4(99n * 13n, 100n * BigInt(winningRanks(guess, value)));
}

/** Whether `guess` made on rank `before` was right when rank `after` came. */
export function hiloRight(guess, before, after) {
  return guess === "higher_or_same" ? after >= before : after <= before;
}
