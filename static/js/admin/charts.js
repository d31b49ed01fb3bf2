// Bar charts drawn as SVG, no library: one bar per period with bets, green above zero, red
// below, a hairline at zero.

import { svg } from "../dom.js";

const WIDTH = 600;
const HEIGHT = 180;
const PAD = 24;

/**
 * A bar chart of `points` ([{start, value}], ascending `start` in ms) over `count` periods
 * of `size` ms from `since`; `label(start)` names a period, `title(point)` a bar's tooltip.
 */
export function barChart({ points, since, size, count, label, title }) {
  const byStart = new Map(points.map((point) => [point.start, point]));
  const largest = Math.max(1, ...points.map((point) => Math.abs(point.value)));
  const zero = HEIGHT / 2;
  const scale = (HEIGHT / 2 - PAD) / largest;
  const step = (WIDTH - 2 * PAD) / count;
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", preserveAspectRatio: "none" });
  chart.append(svg("line", { class: "axis", x1: PAD, x2: WIDTH - PAD, y1: zero, y2: zero }));
  for (let i = 0; i < count; i += 1) {
    const start = since + i * size;
    const point = byStart.get(start);
    const x = PAD + i * step;
    if (point) { // a period with bets: a hairline when it broke even
      const height = Math.max(1, Math.abs(point.value) * scale);
      const bar = svg("rect", {
        class: point.value > 0 ? "bar-up" : point.value < 0 ? "bar-down" : "bar-even",
        x: x + step * 0.1,
        width: step * 0.8,
        y: point.value > 0 ? zero - height : zero,
        height,
        "data-start": start,
      }, svg("title", {}, title(point)));
      chart.append(bar);
    }
    if (i % Math.ceil(count / 8) === 0) {
      chart.append(svg("text", { x, y: HEIGHT - 6 }, label(start)));
    }
  }
  return chart;
}
