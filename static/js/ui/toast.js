// Short messages in the corner: errors in plain words, confirmations.

import { h } from "../dom.js";

const container = () => document.getElementById("toasts");

/** Show a message for a few seconds; kind is "error", "success" or "info". */
export function toast(message, kind = "info") {
  const el = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  container().append(el);
  setTimeout(() => {
    el.classList.add("leaving");
    setTimeout(() => el.remove(), 300);
  }, kind === "error" ? 5000 : 3000);
}
