// Money in integer minor units, exactly: decimal strings in, decimal strings out.
// Nothing here multiplies or divides money as a float.

export const MAX_MINOR = Number.MAX_SAFE_INTEGER; // the server's 2^53 - 1

const DECIMAL = /^(\d*)(?:\.(\d*))?$/;
const GROUPED = /^\d{1,3}(?:,\d{3})+(?:\.\d*)?$/; // "1,234" "1,234,567.8": thousands only
const UNCLEAR = "Unclear separators: write it like 1234.56";

/**
 * The amount as "digits[.digits]", reading commas without guessing: thousands
 * separators only in the exact pattern with a point or in two groups or more
 * ("1,234.5", "1,234,567"), a single comma with no point as the decimal point
 * ("1,5"). "1,234" could be either and is refused, as is anything else with a
 * comma. Returns {plain} or {error}.
 */
function readSeparators(text) {
  if (!text.includes(",")) return { plain: text };
  if (/^\d{1,3},\d{3}$/.test(text)) {
    const [whole, fraction] = text.split(",");
    return { error: `Unclear: write ${whole}${fraction} or ${whole}.${fraction}` };
  }
  if (GROUPED.test(text)) return { plain: text.replace(/,/g, "") };
  if (/^\d*,\d*$/.test(text)) return { plain: text.replace(",", ".") };
  return { error: UNCLEAR };
}

/**
 * Parse a positive decimal string ("12.5", "12,5") into an integer count of its
 * last decimal place (1250 with 2 decimals): amounts in currency units become
 * minor units. Returns {minor} or {error} with a sentence for the player.
 */
export function parseDecimal(text, decimals) {
  const read = readSeparators(String(text).trim());
  if (read.error) return read;
  const match = DECIMAL.exec(read.plain);
  if (!read.plain || !match || (match[1] === "" && !match[2])) return { error: "Enter a number" };
  const [, whole, fraction = ""] = match;
  if (fraction.length > decimals) {
    return { error: decimals ? `At most ${decimals} decimals` : "Whole units only" };
  }
  const minor = BigInt(whole || "0") * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
  if (minor <= 0n) return { error: "Must be above zero" };
  if (minor > BigInt(MAX_MINOR)) return { error: "Too large" };
  return { minor: Number(minor) };
}

/** Minor units as a decimal string: 123456 with 2 decimals -> "1,234.56". */
export function formatAmount(minor, decimals, { grouping = true, sign = false } = {}) {
  const value = BigInt(minor);
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, "0");
  let whole = decimals ? digits.slice(0, -decimals) : digits;
  const fraction = decimals ? digits.slice(-decimals) : "";
  if (grouping) whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const prefix = negative ? "-" : sign && value > 0n ? "+" : "";
  return prefix + whole + (fraction ? `.${fraction}` : "");
}

/** A decimal string as [digits, scale]: "2.5" -> [25n, 1]. */
function decimalParts(text) {
  const [whole, fraction = ""] = String(text).split(".");
  return [BigInt(whole + fraction), fraction.length];
}

/** floor(minor x multiplier) for a multiplier given as a decimal string, like the server. */
export function applyMultiplier(minor, multiplier) {
  const [digits, scale] = decimalParts(multiplier);
  return Number((BigInt(minor) * digits) / 10n ** BigInt(scale));
}

/** Compare two decimal strings numerically: -1, 0 or 1. */
export function compareDecimal(a, b) {
  const [da, sa] = decimalParts(a);
  const [db, sb] = decimalParts(b);
  const left = da * 10n ** BigInt(sb);
  const right = db * 10n ** BigInt(sa);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Halve an amount (at least one minor unit). */
export function halve(minor) {
  return Math.max(1, Math.floor(minor / 2));
}

/** Double an amount, staying a safe integer. */
export function double(minor) {
  return Math.min(MAX_MINOR, minor * 2);
}

/** A multiplier string for display: at least 2 decimals, no trailing zeros past them ("2.0000" -> "2.00"). */
export function formatMultiplier(text) {
  const [whole, fraction = ""] = String(text).split(".");
  return `${whole}.${fraction.replace(/0+$/, "").padEnd(2, "0")}`;
}
