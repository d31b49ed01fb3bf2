// Small inline SVG drawings for the game boards: the Mines gem and mine.

const NS = "http://www.w3.org/2000/svg";

function svg(viewBox, shapes, className) {
  const root = document.createElementNS(NS, "svg");
  root.setAttribute("viewBox", viewBox);
  root.setAttribute("class", className);
  root.setAttribute("aria-hidden", "true");
  for (const [tag, attrs] of shapes) {
    const shape = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attrs)) shape.setAttribute(name, value);
    root.append(shape);
  }
  return root;
}

/** A cut emerald: table, crown facets and pavilion in shades of green. */
export function gemArt() {
  return svg("0 0 64 64", [
    ["polygon", { points: "16,8 48,8 60,24 32,58 4,24", fill: "#00c200" }],
    ["polygon", { points: "16,8 48,8 42,24 22,24", fill: "#6dff6e" }],
    ["polygon", { points: "16,8 22,24 4,24", fill: "#2bf02c" }],
    ["polygon", { points: "48,8 60,24 42,24", fill: "#00a800" }],
    ["polygon", { points: "4,24 22,24 32,58", fill: "#00b300" }],
    ["polygon", { points: "22,24 42,24 32,58", fill: "#1fdb20" }],
    ["polygon", { points: "42,24 60,24 32,58", fill: "#008f00" }],
    ["polygon", { points: "20,11 27,11 24,18", fill: "#d9ffd9", opacity: "0.8" }],
  ], "art art-gem");
}

/** A round mine with spikes, a fuse cap and a highlight. */
export function mineArt() {
  const spikes = [0, 45, 90, 135].map((angle) =>
    ["rect", { x: "29", y: "6", width: "6", height: "52", rx: "3", fill: "#7a0d12", transform: `rotate(${angle} 32 32)` }]);
  return svg("0 0 64 64", [
    ...spikes,
    ["circle", { cx: "32", cy: "32", r: "19", fill: "#e8222e" }],
    ["circle", { cx: "32", cy: "32", r: "19", fill: "none", stroke: "#9e1119", "stroke-width": "3" }],
    ["circle", { cx: "25", cy: "25", r: "6", fill: "#ff8a90", opacity: "0.85" }],
    ["circle", { cx: "23.5", cy: "23.5", r: "2.5", fill: "#ffffff" }],
  ], "art art-mine");
}
