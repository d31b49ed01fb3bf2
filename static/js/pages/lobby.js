// The lobby: a welcome banner, a card per game the server offers, live bets.

import { h, icon } from "../dom.js";
import { GAMES } from "../games/catalog.js";
import { betsTable } from "../ui/bets-table.js";

export function lobbyPage(el, app) {
  const { store } = app;
  const cards = h("div", { class: "game-grid" });
  const hero = h("section", { class: "hero card" });
  const renderHero = (user) => hero.replaceChildren(
    h("div", { class: "hero-text" },
      h("h1", {}, user ? `${store.get("newcomer") ? "Welcome" : "Welcome back"}, ${user.name}` : "Provably fair games, live"),
      h("p", {}, user?.kind === "guest" && store.get("newcomer")
        ? "Your guest account is ready with play money. Every outcome is checkable from its seeds — verify any bet on the fairness page."
        : "One wallet for every game. Every outcome is checkable from its seeds — verify any bet on the fairness page."),
      user
        ? h("div", { class: "hero-actions" },
          h("a", { class: "btn btn-primary", href: "#/dice" }, "Play Dice"),
          user.kind === "guest"
            ? h("button", { class: "btn btn-ghost", type: "button", onclick: () => app.openAuth("upgrade") }, "Keep this account")
            : null)
        : h("div", { class: "hero-actions" },
          h("button", { class: "btn btn-primary", type: "button", onclick: () => app.playAsGuest() }, "Play as guest"),
          h("button", { class: "btn btn-ghost", type: "button", onclick: () => app.openAuth("register") }, "Create account"))),
    h("div", { class: "hero-art", "aria-hidden": "true" }, h("span", { class: "chip chip-a" }), h("span", { class: "chip chip-b" }), h("span", { class: "chip chip-c" })));
  const renderCards = (offered) => cards.replaceChildren(...GAMES.filter((game) => offered.has(game.id)).map((game) =>
    h("a", { class: `game-card game-card-${game.id}`, href: `#/${game.id}` },
      h("span", { class: "game-card-art" }, icon(game.icon, { size: 56 })),
      h("span", { class: "game-card-title" }, game.title, game.live ? h("span", { class: "live-badge" }, "live") : null),
      h("span", { class: "game-card-blurb" }, game.blurb))));
  const table = betsTable(app);
  el.append(hero, h("h2", { class: "section-title" }, "Games"), cards, table.el);
  const stops = [store.watch("user", renderHero), store.watch("offered", renderCards)];
  return () => {
    stops.forEach((stop) => stop());
    table.destroy();
  };
}
