// The back office's calls to /api/admin. The credential is the admin token (with the
// admin's name) or the session token of an admin account, held in this module's memory
// only (never a cookie or storage); the player's cookie is not sent.

import { api } from "../http.js";

let credentials = null; // { token, actor, session }

/** Remember who is signed in (until the page is left): the admin token and a name. */
export function signIn(token, actor) {
  credentials = { token, actor, session: false };
}

/** Sign in as an admin account: its session token becomes the credential. */
export async function signInAccount(username, password) {
  const reply = await api("/api/auth/login", {
    method: "POST", body: { username, password }, credentials: "omit",
  });
  credentials = { token: reply.token, actor: "", session: true };
}

/** Forget the credential; an account's session is ended on the server too. */
export function signOut() {
  if (credentials?.session) {
    api("/api/auth/logout", {
      method: "POST", credentials: "omit", keepalive: true,
      headers: { authorization: `Bearer ${credentials.token}` },
    }).catch(() => {});
  }
  credentials = null;
}

/** Call an admin path (`options` as for `api`); resolves with the JSON answer or rejects
 * with an ApiError. */
export function admin(path, options = {}) {
  return api(`/api/admin/${path}`, {
    ...options,
    credentials: "omit",
    headers: { authorization: `Bearer ${credentials?.token ?? ""}`, "x-admin-actor": credentials?.actor ?? "" },
  });
}
