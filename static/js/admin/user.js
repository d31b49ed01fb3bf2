// User lookup: the account, balances, sessions (revoke all), a balance adjustment,
// recent ledger entries and bets, the player's limits and their changes (read-only).

import { h, replaceChildren } from "../dom.js";
import { plainWords } from "../errors.js";
import { formatAmount, parseDecimal } from "../money.js";
import { newKey } from "../random.js";
import { toast } from "../ui/toast.js";
import { admin } from "./api.js";

const time = (ms) => (ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "never");

function table(headings, rows, empty) {
  return h("div", { class: "table-scroll" }, h("table", { class: "table" },
    h("thead", {}, h("tr", {}, headings.map((title) => h("th", {}, title)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { class: "empty", colSpan: headings.length }, empty)))));
}

function figure(term, value, dataset) {
  return h("dl", { class: "figure", dataset }, h("dt", {}, term), h("dd", {}, value));
}

/**
 * Look up `q` (an id or a username) and show it in `el`; `changed()` is called after an
 * action so the page can refresh what depends on it (the action log).
 */
export async function showUser(el, q, currencies, changed) {
  const found = await admin("users", { query: { q } });
  const { user } = found;
  const money = (minor, currency, options) => `${formatAmount(minor, currencies[currency] ?? 2, options)} ${currency}`;
  const refresh = async () => {
    await showUser(el, user.id, currencies, changed);
    changed();
  };
  replaceChildren(el,
    h("div", { class: "admin-figures" },
      figure("Name", user.name, { field: "name" }),
      figure("Id", h("span", { class: "mono" }, user.id)),
      figure("Account", user.kind),
      figure("Created", time(user.created_at)),
      Object.entries(found.balances).map(([currency, balance]) =>
        figure(`Balance ${currency}`, money(balance, currency), { balance: currency }))),
    h("div", { class: "admin-forms" },
      adjustForm(user, currencies, refresh),
      sessionsForm(user, found.sessions, refresh)),
    h("h3", {}, "Ledger"),
    table(["Id", "Time", "Type", "Amount", "Balance after", "Game / reason"],
      found.ledger.map((tx) => h("tr", { dataset: { tx: tx.id } },
        h("td", {}, String(tx.id)),
        h("td", {}, time(tx.created_at)),
        h("td", {}, h("span", { class: `badge badge-${tx.type}` }, tx.type)),
        h("td", { class: "num" }, money(tx.amount, tx.currency, { sign: true })),
        h("td", { class: "num" }, money(tx.balance_after, tx.currency)),
        h("td", {}, tx.game ?? tx.ref ?? ""))),
      "No entries"),
    h("h3", {}, "Bets"),
    table(["Id", "Time", "Game", "Amount", "Multiplier", "Payout"],
      found.bets.map((bet) => h("tr", {},
        h("td", {}, String(bet.id)),
        h("td", {}, time(bet.settled_at)),
        h("td", {}, bet.game),
        h("td", { class: "num" }, money(bet.amount, bet.currency)),
        h("td", { class: "num" }, `${bet.multiplier}×`),
        h("td", { class: "num" }, money(bet.payout, bet.currency)))),
      "No bets"),
    limitsSection(found.limits, money));
}

function limitsSection(limits, money) {
  const pause = limits.pause
    ? `${limits.pause.kind.replace("_", "-")} until ${time(limits.pause.until)}` : "none";
  return h("section", { dataset: { section: "limits" } },
    h("h3", {}, "Limits"),
    h("div", { class: "admin-figures" },
      figure("Time zone", limits.zone),
      figure("Pause", pause, { field: "pause" }),
      figure("Reality check", limits.reality_check_min ? `every ${limits.reality_check_min} min` : "off")),
    table(["Limit", "Amount", "Used", "Resets", "Pending"],
      limits.limits.map((limit) => h("tr", { dataset: { limit: `${limit.currency}:${limit.kind}:${limit.period}` } },
        h("td", {}, `${limit.kind} per ${limit.period}`),
        h("td", { class: "num" }, limit.amount === null ? "none" : money(limit.amount, limit.currency)),
        h("td", { class: "num" }, money(limit.used, limit.currency)),
        h("td", {}, time(limit.resets_at)),
        h("td", {}, limit.pending
          ? `${limit.pending.amount === null ? "removed" : money(limit.pending.amount, limit.currency)} at ${time(limit.pending.effective_at)}`
          : ""))),
      "No limits"),
    h("h3", {}, "Limit changes"),
    table(["Time", "Setting", "Old", "New", "Effective"],
      (limits.history || []).map((change) => h("tr", {},
        h("td", {}, time(change.changed_at)),
        h("td", {}, change.setting),
        h("td", { class: "mono" }, changeValue(change.setting, change.old, money)),
        h("td", { class: "mono" }, changeValue(change.setting, change.new, money)),
        h("td", {}, time(change.effective_at)))),
      limits.history === null ? "PostgreSQL cannot be reached: the changes cannot be read now" : "No changes"));
}

function adjustForm(user, currencies, done) {
  let key = newKey("office"); // one key per adjustment: a retry after a network error reuses it
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h("form", { class: "admin-form", id: "adjust", "aria-label": "Adjust the balance" },
    h("h3", {}, "Adjust the balance"),
    h("div", { class: "inline-field" },
      h("label", {}, h("input", { type: "radio", name: "direction", value: "credit", checked: true }), "Credit"),
      h("label", {}, h("input", { type: "radio", name: "direction", value: "debit" }), "Debit")),
    h("div", { class: "inline-field" },
      h("input", { class: "input", name: "amount", inputMode: "decimal", placeholder: "Amount", "aria-label": "Amount", required: true }),
      h("select", { class: "input", name: "currency", "aria-label": "Currency" },
        Object.keys(currencies).map((code) => h("option", { value: code }, code)))),
    h("input", { class: "input", name: "reason", placeholder: "Reason (recorded)", "aria-label": "Reason", required: true, maxLength: 200 }),
    error,
    h("button", { class: "btn btn-primary", type: "submit" }, "Apply"));
  form.addEventListener("input", () => { key = newKey("office"); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const currency = data.get("currency");
    const amount = parseDecimal(data.get("amount"), currencies[currency] ?? 2);
    if (amount.error) {
      error.textContent = amount.error;
      return;
    }
    error.textContent = "";
    try {
      await admin(data.get("direction"), {
        method: "POST",
        body: { user: user.id, amount: amount.minor, currency, key, reason: data.get("reason").trim() },
      });
      toast("Balance adjusted", "success");
      await done();
    } catch (failure) {
      error.textContent = plainWords(failure, failure.message);
    }
  });
  return form;
}

function sessionsForm(user, sessions, done) {
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h("form", { class: "admin-form", id: "revoke", "aria-label": "Sessions" },
    h("h3", {}, `Sessions (${sessions.length})`),
    sessions.map((session) => h("p", { class: "mono" }, `${session.id}… until ${time(session.expires_at)}`)),
    h("input", { class: "input", name: "reason", placeholder: "Reason (recorded)", "aria-label": "Reason for revoking", required: true, maxLength: 200 }),
    error,
    h("button", { class: "btn btn-secondary", type: "submit", disabled: !sessions.length }, "Revoke all sessions"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const { revoked } = await admin("sessions/revoke", {
        method: "POST",
        body: { user: user.id, reason: new FormData(form).get("reason").trim() },
      });
      toast(`${revoked} session(s) revoked`, "success");
      await done();
    } catch (failure) {
      error.textContent = plainWords(failure, failure.message);
    }
  });
  return form;
}

/** A value of the limit-change log: a limit's amount in its currency, a pause's end as a time. */
function changeValue(setting, value, money) {
  if (!value) return "none";
  const [currency, kind] = setting.split(":");
  if (kind) return money(Number(value), currency);
  if (setting === "pause") {
    const [pause, until] = value.split(":");
    return `${pause.replace("_", "-")} until ${until === "never" ? "never" : time(Number(until))}`;
  }
  return value;
}
