// The sign-in / register dialog (a native <dialog>: focus stays inside, Esc closes),
// also where a guest chooses a username and password to keep the account.

import { h, replaceChildren } from "../dom.js";
import { plainWords } from "../errors.js";
import { toast } from "./toast.js";

const MODES = {
  login: { title: "Sign in", submit: "Sign in", other: "register", otherText: "New here? Create an account" },
  register: { title: "Create an account", submit: "Register", other: "login", otherText: "Have an account? Sign in" },
  upgrade: {
    title: "Keep your account", submit: "Save my account",
    intro: "Choose a username and password: your balance and your bets stay with you.",
  },
};

export function authDialog(app) {
  const dialog = document.getElementById("auth-dialog");
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });

  const render = (mode) => {
    const spec = MODES[mode];
    const creating = mode !== "login";
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
          if (mode === "upgrade") toast(`Saved: sign in as ${username.value} from now on`, "success");
        } catch (failure) {
          error.textContent = plainWords(failure);
        } finally {
          submit.disabled = false;
        }
      },
    },
      h("div", { class: "field" }, h("label", { for: "auth-username" }, "Username"), username,
        creating ? h("p", { class: "hint" }, "3–20 letters, digits or _") : null),
      h("div", { class: "field" }, h("label", { for: "auth-password" }, "Password"), password,
        creating ? h("p", { class: "hint" }, "At least 8 characters") : null),
      error, submit);
    replaceChildren(dialog,
      h("div", { class: "dialog-head" },
        h("h2", { id: "auth-title" }, spec.title),
        h("button", { class: "btn btn-icon", type: "button", "aria-label": "Close", onclick: () => dialog.close() }, "✕")),
      spec.intro ? h("p", { class: "dialog-intro" }, spec.intro) : null,
      form,
      spec.other ? [
        h("button", { class: "btn btn-link", type: "button", onclick: () => render(spec.other) }, spec.otherText),
        h("div", { class: "divider" }, h("span", {}, "or")),
        h("button", {
          class: "btn btn-secondary btn-block", type: "button",
          onclick: async () => {
            dialog.close();
            await app.playAsGuest();
          },
        }, "Play as guest — one click")] : null);
    return username;
  };

  return (mode = "login") => {
    const first = render(mode);
    if (!dialog.open) dialog.showModal();
    first.focus();
  };
}

/**
 * Before a guest logs out: a guest has no password, so its account (and balance) cannot be
 * reached again. Resolves true to log out anyway; "Keep my account" opens the upgrade form.
 */
export function confirmGuestLogout(app) {
  return new Promise((resolve) => {
    let answer = false;
    const choose = (value) => {
      answer = value;
      dialog.close();
    };
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": "logout-title", "data-testid": "guest-logout" },
      h("div", { class: "dialog-head" },
        h("h2", { id: "logout-title" }, "Log out of a guest account?"),
        h("button", { class: "btn btn-icon", type: "button", "aria-label": "Close", onclick: () => choose(false) }, "✕")),
      h("p", { class: "dialog-intro" },
        "A guest account has no password: once you log out, it cannot be reached again, nor its balance. ",
        "Choose a username and password first to keep it."),
      h("div", { class: "dialog-actions" },
        h("button", { class: "btn btn-primary btn-block", type: "button", onclick: () => {
          choose(false);
          app.openAuth("upgrade");
        } }, "Keep my account"),
        h("button", { class: "btn btn-secondary btn-block", type: "button", onclick: () => choose(true) }, "Log out anyway")));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
