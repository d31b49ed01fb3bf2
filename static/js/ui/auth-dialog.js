// The sign-in / register dialog (a native <dialog>: focus stays inside, Esc closes).

import { h, replaceChildren } from "../dom.js";
import { plainWords } from "../errors.js";

const MODES = {
  login: { title: "Sign in", submit: "Sign in", other: "register", otherText: "New here? Create an account" },
  register: { title: "Create an account", submit: "Register", other: "login", otherText: "Have an account? Sign in" },
};

export function authDialog(app) {
  const dialog = document.getElementById("auth-dialog");
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });

  const render = (mode) => {
    const spec = MODES[mode];
    const username = h("input", {
      class: "input", id: "auth-username", name: "username", autocomplete: "username",
      required: true, minLength: 3, maxLength: 20, pattern: "[A-Za-z0-9_]+",
    });
    const password = h("input", {
      class: "input", id: "auth-password", name: "password", type: "password", required: true,
      minLength: 8, maxLength: 128, autocomplete: mode === "login" ? "current-password" : "new-password",
    });
    const error = h("p", { class: "form-error", role: "alert" });
    const submit = h("button", { class: "btn btn-primary btn-block", type: "submit" }, spec.submit);
    const form = h("form", {
      class: "auth-form",
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        try {
          await app.session[mode](username.value, password.value);
          dialog.close();
        } catch (failure) {
          error.textContent = plainWords(failure);
        } finally {
          submit.disabled = false;
        }
      },
    },
      h("div", { class: "field" }, h("label", { for: "auth-username" }, "Username"), username,
        mode === "register" ? h("p", { class: "hint" }, "3–20 letters, digits or _") : null),
      h("div", { class: "field" }, h("label", { for: "auth-password" }, "Password"), password,
        mode === "register" ? h("p", { class: "hint" }, "At least 8 characters") : null),
      error, submit);
    replaceChildren(dialog,
      h("div", { class: "dialog-head" },
        h("h2", { id: "auth-title" }, spec.title),
        h("button", { class: "btn btn-icon", type: "button", "aria-label": "Close", onclick: () => dialog.close() }, "✕")),
      form,
      h("button", { class: "btn btn-link", type: "button", onclick: () => render(spec.other) }, spec.otherText),
      h("div", { class: "divider" }, h("span", {}, "or")),
      h("button", {
        class: "btn btn-secondary btn-block", type: "button",
        onclick: async () => {
          dialog.close();
          await app.playAsGuest();
        },
      }, "Play as guest — one click"));
    return username;
  };

  return (mode = "login") => {
    const first = render(mode);
    if (!dialog.open) dialog.showModal();
    first.focus();
  };
}
