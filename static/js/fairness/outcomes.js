// Recompute instant-game outcomes (and the Mines board and HiLo cards) in the browser, from revealed seeds, with
// Web Crypto. Stake's generator: HMAC_SHA256(key = server seed, message =
// `${client_seed}:${nonce}:${round}`) for round 0, 1, ...; each 4 bytes of a
// digest are one float b0/256 + b1/256^2 + b2/256^3 + b3/256^4 = word / 2^32.
// Floats are kept as their 32-bit words so every step below is exact.

const encoder = new TextEncoder();
const TWO_POW_32 = 2 ** 32;

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

/** True where Web Crypto is available (secure contexts: https or localhost). */
export const canVerify = () => Boolean(globalThis.crypto?.subtle);

export async function hmacSha256(key, message) {
  const cryptoKey = await crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message)));
}

export async function sha256Hex(text) {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** The first `count` generator words (float x 2^32) of a bet. */
export async function words(serverSeed, clientSeed, nonce, count) {
  const out = [];
  for (let round = 0; out.length < count; round += 1) {
    const digest = new DataView((await hmacSha256(serverSeed, `${clientSeed}:${nonce}:${round}`)).buffer);
    for (let offset = 0; offset < 32 && out.length < count; offset += 4) out.push(digest.getUint32(offset));
  }
  return out;
}

/** floor(float x n), exactly (word x n stays below 2^53 for the n used here). */
const scaledFloor = (word, n) => Math.floor((word * n) / TWO_POW_32);
const hundredths = (value) => `${Math.floor(value / 100)}.${String(value % 100).padStart(2, "0")}`;

/** Per game: how many floats a round uses and the outcome they make. */
const GAMES = {
  dice: {
    count: () => 1,
    outcome: ([word]) => ({ roll: hundredths(scaledFloor(word, 10001)) }),
  },
  limbo: {
    count: () => 1,
    // 0.99 / float rounded down to cents, at least 1.00 (the server also caps it at its maximum target).
    outcome: ([word]) => ({
      result: word === 0 ? "max" : hundredths(Math.max(100, Number((99n * BigInt(TWO_POW_32)) / BigInt(word)))),
    }),
  },
  plinko: {
    count: (params) => Number(params.rows),
    outcome: (list) => {
      const path = list.map((word) => scaledFloor(word, 2));
      return { path, slot: path.reduce((a, b) => a + b, 0) };
    },
  },
  keno: {
    count: () => 10,
    outcome: (list, params) => {
      const remaining = Array.from({ length: 40 }, (_, i) => i + 1);
      const drawn = list.map((word) => remaining.splice(scaledFloor(word, remaining.length), 1)[0]);
      const picks = new Set((params.picks ?? []).map(Number));
      return { drawn, hits: drawn.filter((n) => picks.has(n)) };
    },
  },
  mines: {
    count: (params) => Number(params.mines),
    // Each float picks one of the tiles still free; the board lists them in tile order.
    outcome: (list) => {
      const remaining = Array.from({ length: 25 }, (_, i) => i);
      return { mines: list.map((word) => remaining.splice(scaledFloor(word, remaining.length), 1)[0]).sort((a, b) => a - b) };
    },
  },
  hilo: {
    count: (params) => Number(params.cards ?? 13),
    // Card index floor(float x 52) in Stake's deck order: suit = index % 4, rank = index / 4.
    outcome: (list) => ({
      cards: list.map((word) => {
        const index = scaledFloor(word, 52);
        return HILO_SUITS[index % 4] + HILO_RANKS[Math.floor(index / 4)];
      }),
    }),
  },
};

const HILO_RANKS = ["2", "3", "4", "5", "6", "7", "8", "9", "10", "J", "Q", "K", "A"];
const HILO_SUITS = ["♦", "♥", "♠", "♣"];

export const verifiableGames = () => Object.keys(GAMES);

/** Games only the server can recompute, and why (the page says it). */
export const SERVER_ONLY = { quiz: "the question bank lives there" };

/** The outcome of a round (Mines: the board; HiLo: the cards), as the server's verify reports it. */
export async function recompute(game, params, serverSeed, clientSeed, nonce) {
  const rules = GAMES[game];
  const list = await words(serverSeed, clientSeed, nonce, rules.count(params));
  return rules.outcome(list, params);
}
