// A small round currency badge (inline SVG), colored per currency.

const COLORS = { PLAY: "#00e701", BTC: "#f7931a", ETH: "#627eea", USDT: "#26a17b" };
const SYMBOLS = { PLAY: "P", BTC: "B", ETH: "E", USDT: "T" };

export function coin(currency, size = 16) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 20 20");
  svg.setAttribute("width", size);
  svg.setAttribute("height", size);
  svg.setAttribute("class", "coin");
  svg.setAttribute("aria-hidden", "true");
  const circle = document.createElementNS(ns, "circle");
  circle.setAttribute("cx", "10");
  circle.setAttribute("cy", "10");
  circle.setAttribute("r", "10");
  circle.setAttribute("fill", COLORS[currency] ?? "#8a9bb0");
  const text = document.createElementNS(ns, "text");
  text.setAttribute("x", "10");
  text.setAttribute("y", "14.5");
  text.setAttribute("text-anchor", "middle");
  text.setAttribute("font-size", "12");
  text.setAttribute("font-weight", "800");
  text.setAttribute("fill", "#0f212e");
  text.textContent = SYMBOLS[currency] ?? currency.charAt(0);
  svg.append(circle, text);
  return svg;
}
