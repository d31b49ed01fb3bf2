// The reality check: every N minutes (the player's setting on the Limits page, off by
// default) a dialog shows how long this session has lasted and its net result per
// currency, with Continue or Stop. Stop goes to the lobby: leaving a game's page ends
// any autobet running on it.

import { h } from "../dom.js";
import { api } from "../http.js";

const MINUTE_MS = 60_000;

export function mountRealityCheck(app) {
  const { store } = app;
  let timer = null;
  let startedAt = Date.now();

  const schedule = () => {
    clearTimeout(timer);
    const minutes = store.get("realityCheckMin");
    if (store.get("user") && minutes) timer = setTimeout(show, minutes * MINUTE_MS);
  };

  function show() {
    const played = Math.max(1, Math.round((Date.now() - startedAt) / MINUTE_MS));
    const results = Object.entries(store.get("stats").currencies)
      .map(([currency, stats]) => `${app.format(stats.profit, currency, { sign: true })} ${currency}`);
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": "reality-title", "data-testid": "reality-check" },
      h("div", { class: "dialog-head" }, h("h2", { id: "reality-title" }, "Reality check")),
      h("p", { class: "dialog-intro" }, `You have played for ${played} ${played === 1 ? "minute" : "minutes"}.`),
      h("p", { class: "dialog-intro", "data-testid": "reality-result" },
        `Net result of this session: ${results.length ? results.join(", ") : "no bets yet"}.`),
      h("div", { class: "dialog-actions" },
        h("button", { class: "btn btn-primary btn-block", type: "button", onclick: () => dialog.close() }, "Continue"),
        h("button", { class: "btn btn-secondary btn-block", type: "button", "data-testid": "reality-stop", onclick: () => {
          dialog.close();
          location.hash = "#/";
        } }, "Stop playing")));
    dialog.addEventListener("close", () => {
      dialog.remove();
      schedule();
    });
    document.body.append(dialog);
    dialog.showModal();
  }

  store.watch("user", (user) => {
    startedAt = Date.now();
    if (!user) {
      store.set("realityCheckMin", 0);
      return;
    }
    api("/api/limits").then((view) => store.set("realityCheckMin", view.reality_check_min)).catch(() => {});
  });
  store.watch("realityCheckMin", schedule);
}
