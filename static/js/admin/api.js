// The back office's calls to /api/admin: the admin token and name go in headers, held in
// this module's memory only (never a cookie or storage); the player's cookie is not sent.

import { api } from "../http.js";

let credentials = null; // { token, actor }

/** Remember who is signed in (until the page is left). */
export function signIn(token, actor) {
  credentials = { token, actor };
}

export function signOut() {
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
