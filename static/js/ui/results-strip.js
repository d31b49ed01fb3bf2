// The row of recent results above a game's stage (newest first).

import { h } from "../dom.js";

export function resultsStrip(limit = 8) {
  const el = h("ol", { class: "results-strip", "aria-label": "Recent results" });
  return {
    el,
    /** Add a result: `text` like "2.00×", `win` colors it. */
    push(text, win) {
      el.prepend(h("li", { class: `result-pill ${win ? "win" : "loss"}` }, text));
      while (el.children.length > limit) el.lastElementChild.remove();
    },
  };
}
