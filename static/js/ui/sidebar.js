// The navigation: on wide screens the left sidebar (the lobby, each game the
// server offers, wallet, limits and fairness); on phones a bottom bar (lobby, games,
// wallet, fairness) whose Games button opens the sidebar as a sheet above it.

import { h, icon, replaceChildren } from "../dom.js";
import { GAMES, GAME_BY_ID } from "../games/catalog.js";

const HOME = ["M3 11l9-8 9 8", "M5 10v10h14V10"];
const WALLET = ["M3 7h15a3 3 0 0 1 3 3v7a3 3 0 0 1-3 3H6a3 3 0 0 1-3-3z", "M3 7l12-4v4", "M16 14h.01"];
const SHIELD = ["M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z", "M9 12l2 2 4-4"];
const LIMITS = ["M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z", "M12 7v5l3 3"];
const GRID = ["M4 4h6v6H4z", "M14 4h6v6h-6z", "M4 14h6v6H4z", "M14 14h6v6h-6z"];

const link = (route, title, paths, extra = null) =>
  h("a", { href: `#/${route}`, class: "nav-link", dataset: { route } }, icon(paths), h("span", {}, title), extra);

export function mountSidebar(app) {
  const nav = document.getElementById("nav");
  const shell = document.querySelector(".shell");
  const games = h("button", {
    type: "button", class: "nav-link", "aria-expanded": "false", "aria-controls": "nav",
    onclick: () => openMenu(!shell.classList.contains("menu-open")),
  }, icon(GRID), h("span", {}, "Games"));
  const openMenu = (open) => {
    shell.classList.toggle("menu-open", open);
    games.setAttribute("aria-expanded", String(open));
  };
  replaceChildren(document.getElementById("tabbar"),
    link("", "Lobby", HOME), games, link("wallet", "Wallet", WALLET), link("fairness", "Fairness", SHIELD));

  const render = () => {
    const offered = app.offeredGames();
    replaceChildren(nav,
      link("", "Lobby", HOME),
      h("p", { class: "nav-heading" }, "Games"),
      GAMES.filter((game) => offered.has(game.id)).map((game) =>
        link(game.id, game.title, game.icon, game.live ? h("span", { class: "live-badge" }, "live") : null)),
      h("p", { class: "nav-heading" }, "Account"),
      link("wallet", "Wallet", WALLET),
      link("limits", "Limits", LIMITS),
      link("fairness", "Fairness", SHIELD));
    highlight();
  };
  const highlight = () => {
    const route = app.router?.route ?? "";
    for (const el of shell.querySelectorAll("a.nav-link")) {
      if (el.dataset.route === route) el.setAttribute("aria-current", "page");
      else el.removeAttribute("aria-current");
    }
    if (route in GAME_BY_ID) games.setAttribute("aria-current", "page");
    else games.removeAttribute("aria-current");
  };
  app.store.watch("offered", render);
  document.addEventListener("routechange", () => {
    openMenu(false);
    highlight();
  });
  document.addEventListener("keydown", (event) => event.key === "Escape" && openMenu(false));
  document.getElementById("view").addEventListener("click", () => openMenu(false)); // a tap beside the sheet
}
