// The back office: sign in with an admin account or the admin token, then live figures,
// user lookup, reports and the action log.

import { h, replaceChildren } from "../dom.js";
import { plainWords } from "../errors.js";
import { formatAmount } from "../money.js";
import { toast } from "../ui/toast.js";
import { admin, signIn, signInAccount, signOut } from "./api.js";
import { showProfit, showWinners } from "./reports.js";
import { showUser } from "./user.js";

const LIVE_EVERY_MS = 2000;
const $ = (id) => document.getElementById(id);
let currencies = {};
let bucket = "hour";

function figure(term, value, name, note) {
  return h("dl", { class: "figure", dataset: { live: name } },
    h("dt", {}, term), h("dd", {}, value), note ? h("dd", { class: "hint" }, note) : null);
}

/** An action's details in words: its amount as money, the rest as name: value. */
function details({ amount, currency, ...rest }) {
  const parts = amount === undefined ? [] : [`${formatAmount(amount, currencies[currency] ?? 2)} ${currency}`];
  if (rest.balance !== undefined) rest.balance = formatAmount(rest.balance, currencies[currency] ?? 2);
  return [...parts, ...Object.entries(rest).map(([name, value]) => `${name}: ${value}`)].join(", ");
}

async function showLive() {
  const live = await admin("live");
  const { crash } = live;
  const money = (minor, currency) => `${formatAmount(minor, currencies[currency] ?? 2)} ${currency}`;
  replaceChildren($("live"),
    figure("Sockets (this instance)", String(live.sockets), "sockets"),
    figure("Players betting (1 min)", String(live.last_minute.players), "players"),
    figure("Bets per second (1 min)", live.last_minute.bets_per_s.toFixed(2), "bets-per-s"),
    figure("Crash round", crash.round_id === null ? "—" : `#${crash.round_id} ${crash.phase}`, "crash-round"),
    Object.entries(crash.max_payout_per_round).map(([currency, limit]) => {
      const open = crash.open[currency] ?? { bets: 0, stakes: 0 };
      return figure(`Crash open stakes ${currency}`, `${money(open.stakes, currency)} (${open.bets} bets)`,
        `crash-${currency}`, `House limit ${money(limit, currency)} paid per round`);
    }));
}

async function showLog() {
  const { items } = await admin("actions", { query: { limit: 50 } });
  const rows = items.map((item) => h("tr", { dataset: { action: item.action } },
    h("td", {}, new Date(item.created_at).toISOString().replace("T", " ").slice(0, 19)),
    h("td", {}, item.actor),
    h("td", {}, item.action),
    h("td", { class: "mono" }, item.target_user ?? ""),
    h("td", {}, details(item.details)),
    h("td", {}, item.reason)));
  replaceChildren($("log"), h("div", { class: "table-scroll" }, h("table", { class: "table" },
    h("thead", {}, h("tr", {}, ["Time (UTC)", "Admin", "Action", "User", "Details", "Reason"].map((title) => h("th", {}, title)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { class: "empty", colSpan: 6 }, "No actions yet"))))));
}

async function showReports() {
  await showProfit($("profit"), bucket, currencies);
  await showWinners($("winners"), currencies);
}

function failed(error) {
  if (error.code === "FORBIDDEN") {
    signOut();
    location.reload();
    return;
  }
  toast(plainWords(error, error.message), "error");
}

async function open() {
  $("sign-in").hidden = true;
  $("office").hidden = false;
  $("bucket-tabs").addEventListener("click", (event) => {
    const tab = event.target.closest("[data-bucket]");
    if (!tab) return;
    bucket = tab.dataset.bucket;
    for (const other of $("bucket-tabs").children) other.setAttribute("aria-selected", String(other === tab));
    showProfit($("profit"), bucket, currencies).catch(failed);
  });
  $("lookup").addEventListener("submit", (event) => {
    event.preventDefault();
    const q = new FormData(event.target).get("q").trim();
    showUser($("user"), q, currencies, () => showLog().catch(failed)).catch(failed);
  });
  await Promise.all([showLive(), showReports(), showLog()]);
  setInterval(() => showLive().catch(failed), LIVE_EVERY_MS);
}

function setSignInMode(mode) {
  const form = $("sign-in");
  form.dataset.mode = mode;
  for (const tab of $("sign-in-tabs").children) tab.setAttribute("aria-selected", String(tab.dataset.mode === mode));
  for (const part of form.querySelectorAll("[data-for]")) {
    const shown = part.dataset.for === mode;
    part.hidden = !shown;
    for (const input of part.querySelectorAll("input")) input.required = shown;
  }
  $("sign-in-error").textContent = "";
}

$("sign-in-tabs").addEventListener("click", (event) => {
  const tab = event.target.closest("[data-mode]");
  if (tab) setSignInMode(tab.dataset.mode);
});
setSignInMode("account");

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const byAccount = form.dataset.mode === "account";
  try {
    if (byAccount) await signInAccount(data.get("username").trim(), data.get("password"));
    else signIn(data.get("token"), data.get("actor").trim());
    const who = await admin("whoami");
    currencies = who.currencies;
    const leave = h("button", { class: "btn btn-secondary btn-small", type: "button" }, "Sign out");
    leave.addEventListener("click", () => { signOut(); location.reload(); });
    const chip = h("span", { class: "user-chip", title: `Signed in as ${who.actor}` },
      h("span", { class: "who-prefix" }, "Signed in as "), who.actor);
    replaceChildren($("admin-who"), chip, leave);
    form.reset();
    await open();
  } catch (error) {
    signOut();
    const refused = { FORBIDDEN: byAccount ? "This account is not an admin" : "Wrong admin token",
      INVALID_CREDENTIALS: "Wrong username or password" }[error.code];
    $("sign-in-error").textContent = refused ?? plainWords(error, error.message);
  }
});

// Leaving the page ends an admin account's session (the token lived in memory only).
addEventListener("pagehide", () => signOut());
