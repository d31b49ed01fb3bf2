// A small round currency badge (inline SVG), colored per currency.

import { svg } from "../dom.js";

const COLORS = { PLAY: "#00e701", BTC: "#f7931a", ETH: "#627eea", USDT: "#26a17b" };
const SYMBOLS = { PLAY: "P", BTC: "B", ETH: "E", USDT: "T" };

export function coin(currency, size = 16) {
  return svg("svg", { viewBox: "0 0 20 20", width: size, height: size, class: "coin", "aria-hidden": "true" },
    svg("circle", { cx: "10", cy: "10", r: "10", fill: COLORS[currency] ?? "#8a9bb0" }),
    svg("text", { x: "10", y: "14.5", "text-anchor": "middle", "font-size": "12", "font-weight": "800", fill: "#0f212e" },
      SYMBOLS[currency] ?? currency.charAt(0)));
}
