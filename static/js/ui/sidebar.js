// The left navigation: the lobby, each game the server offers, wallet and fairness.

import { h, icon, replaceChildren } from "../dom.js";
import { GAMES } from "../games/catalog.js";

const HOME = ["M3 11l9-8 9 8", "M5 10v10h14V10"];
const WALLET = ["M3 7h15a3 3 0 0 1 3 3v7a3 3 0 0 1-3 3H6a3 3 0 0 1-3-3z", "M3 7l12-4v4", "M16 14h.01"];
const SHIELD = ["M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z", "M9 12l2 2 4-4"];

export function mountSidebar(app) {
  const nav = document.getElementById("nav");
  const link = (route, title, paths, extra = null) =>
    h("a", { href: `#/${route}`, class: "nav-link", dataset: { route } }, icon(paths), h("span", {}, title), extra);
  const render = () => {
    const offered = app.offeredGames();
    replaceChildren(nav,
      link("", "Lobby", HOME),
      h("p", { class: "nav-heading" }, "Games"),
      GAMES.filter((game) => offered.has(game.id)).map((game) =>
        link(game.id, game.title, game.icon, game.live ? h("span", { class: "live-badge" }, "live") : null)),
      h("p", { class: "nav-heading" }, "Account"),
      link("wallet", "Wallet", WALLET),
      link("fairness", "Fairness", SHIELD));
    highlight();
  };
  const highlight = () => {
    const route = app.router?.route ?? "";
    for (const el of nav.querySelectorAll(".nav-link")) {
      if (el.dataset.route === route) el.setAttribute("aria-current", "page");
      else el.removeAttribute("aria-current");
    }
  };
  app.store.watch("offered", render);
  document.addEventListener("routechange", highlight);
}
