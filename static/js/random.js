// Randomness from the browser's CSPRNG: idempotency keys and local picks.

/** A fresh idempotency key for one money operation (matches the server's key pattern). */
export function newKey(prefix = "web") {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** A uniform integer in [0, n) without modulo bias. */
export function randomBelow(n) {
  const limit = Math.floor(0x100000000 / n) * n;
  const word = new Uint32Array(1);
  do crypto.getRandomValues(word);
  while (word[0] >= limit);
  return word[0] % n;
}
