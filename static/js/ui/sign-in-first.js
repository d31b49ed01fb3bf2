// The page of a signed-out visitor where a page needs an account: a title, why, and
// Sign in; the page renders again once someone signs in.

import { h } from "../dom.js";

/** Fill `el` with the prompt; returns the cleanup (stop watching the user). */
export function signInFirst(el, app, title, why) {
  el.append(h("section", { class: "card empty-state" }, h("h1", {}, title), h("p", {}, why),
    h("button", { class: "btn btn-primary", type: "button", onclick: () => app.openAuth("login") }, "Sign in")));
  return app.store.watch("user", (user) => user && app.router.render());
}
