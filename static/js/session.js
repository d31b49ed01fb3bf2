// Who is signed in: restore at load, guest / register / login, logout.
// `newcomer` says whether the account was created just now (guest, register)
// or is coming back (login, a session restored with the page).
// The session token lives in the server's HttpOnly cookie; a localStorage flag
// only remembers that there is one (and whose: another tab reloads when it
// changes), so a signed-out visit asks nothing. A guest may register: same
// account, a new session (the guest's ends, its sockets reconnect with the new cookie).

import { api } from "./http.js";

const FLAG = "croupier.signedIn";

export class Session {
  constructor(store, socket) {
    this.store = store;
    this.socket = socket;
    // Another tab signed in or out: follow it.
    window.addEventListener("storage", (event) => {
      if (event.key === FLAG) location.reload();
    });
  }

  /** Load the signed-in user, if the cookie still names one. */
  async restore() {
    if (!localStorage.getItem(FLAG)) return;
    try {
      const { user } = await api("/api/me");
      this.store.set("newcomer", false);
      this.store.set("user", user);
    } catch (error) {
      if (error.code === "UNAUTHENTICATED") localStorage.removeItem(FLAG);
      else throw error;
    }
  }

  guest() {
    return this.start(api("/api/auth/guest", { method: "POST" }), true);
  }

  login(username, password) {
    return this.start(api("/api/auth/login", { method: "POST", body: { username, password } }), false);
  }

  register(username, password) {
    return this.start(api("/api/auth/register", { method: "POST", body: { username, password } }), true);
  }

  /** The signed-in guest becomes a registered account with the same balance and history. */
  upgrade(username, password) {
    return this.start(api("/api/auth/upgrade", { method: "POST", body: { username, password } }), false);
  }

  async start(call, newcomer) {
    const { token, user } = await call;
    localStorage.setItem(FLAG, `${user.id}:${user.kind}`);
    this.store.set("balances", {});
    this.store.set("newcomer", newcomer);
    this.store.set("user", user);
    // The open socket is still anonymous: sign it in (the balances follow as events).
    await this.socket.request("auth", { token });
    this.socket.emit("signed-in", { user }); // pages may now load what the user has open
  }

  async logout() {
    try {
      await api("/api/auth/logout", { method: "POST" });
    } finally {
      localStorage.removeItem(FLAG);
      this.store.set("user", null);
      this.store.set("balances", {});
      this.socket.reconnect();
    }
  }
}
