// The Plinko board on a canvas: pins, slots, and balls falling along the
// server's path (0 = left, 1 = right at each row) into the slot it chose.

import { fitCanvas } from "../dom.js";

const ROW_MS = 95;
const EDGE = [255, 0, 63];
const CENTRE = [255, 192, 0];

export class PlinkoBoard {
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.rows = 16;
    this.labels = [];
    this.balls = [];
    this.bumps = new Map(); // slot -> time it was hit
    this.frame = 0;
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(canvas);
  }

  destroy() {
    this.observer.disconnect();
    cancelAnimationFrame(this.frame);
  }

  setRows(rows) {
    this.rows = rows;
    this.balls = [];
    this.draw(performance.now());
  }

  /** Slot labels (the multipliers of these rows and risk), by slot. */
  setLabels(labels) {
    this.labels = labels;
    this.draw(performance.now());
  }

  /** Drop a ball along `path`; `onLanded()` runs when it reaches its slot. */
  drop(path, onLanded) {
    this.balls.push({ path, start: performance.now(), onLanded });
    if (this.balls.length === 1) this.loop();
  }

  resize() {
    fitCanvas(this.canvas, this.context);
    this.draw(performance.now());
  }

  geometry() {
    const { width, height } = this.canvas.getBoundingClientRect();
    const spacing = Math.min(width / (this.rows + 2), (height - 24) / (this.rows + 2));
    const top = (height - spacing * (this.rows + 1.6)) / 2 + spacing * 0.6;
    return { width, height, spacing, top, centre: width / 2 };
  }

  /** Where a ball is after `passed` rows with `rights` of them to the right. */
  point(g, passed, rights) {
    const x = g.centre + (rights - passed / 2) * g.spacing;
    return { x, y: g.top + passed * g.spacing - g.spacing * 0.3 };
  }

  ballAt(g, ball, now) {
    const elapsed = (now - ball.start) / ROW_MS;
    const segment = Math.min(Math.floor(elapsed), this.rows);
    const fraction = Math.min(1, elapsed - segment);
    const rightsBefore = ball.path.slice(0, segment).reduce((a, b) => a + b, 0);
    if (segment >= this.rows) return { ...this.point(g, this.rows, rightsBefore), done: elapsed >= this.rows + 0.4 };
    const from = segment === 0 ? { x: g.centre, y: g.top - g.spacing * 1.2 } : this.point(g, segment, rightsBefore);
    const to = this.point(g, segment + 1, rightsBefore + ball.path[segment]);
    const hop = segment === 0 ? 0 : g.spacing * 0.45 * 4 * fraction * (1 - fraction);
    return { x: from.x + (to.x - from.x) * fraction, y: from.y + (to.y - from.y) * fraction - hop, done: false };
  }

  loop() {
    cancelAnimationFrame(this.frame);
    const step = (now) => {
      const g = this.geometry();
      for (const ball of [...this.balls]) {
        if (!this.ballAt(g, ball, now).done) continue;
        this.balls.splice(this.balls.indexOf(ball), 1);
        this.bumps.set(ball.path.reduce((a, b) => a + b, 0), now);
        ball.onLanded();
      }
      this.draw(now);
      const bumping = [...this.bumps.values()].some((time) => now - time < 300);
      if (this.balls.length || bumping) this.frame = requestAnimationFrame(step);
    };
    this.frame = requestAnimationFrame(step);
  }

  draw(now) {
    const g = this.geometry();
    const c = this.context;
    c.clearRect(0, 0, g.width, g.height);
    const pin = Math.max(2, g.spacing * 0.11);
    c.fillStyle = "#e6edf5";
    for (let row = 0; row < this.rows; row += 1) {
      for (let i = 0; i < row + 3; i += 1) {
        const x = g.centre + (i - (row + 2) / 2) * g.spacing;
        c.beginPath();
        c.arc(x, g.top + row * g.spacing, pin, 0, Math.PI * 2);
        c.fill();
      }
    }
    this.drawSlots(g, now);
    c.fillStyle = "#ff2d6f";
    c.shadowColor = "rgba(255, 45, 111, 0.7)";
    c.shadowBlur = 8;
    for (const ball of this.balls) {
      const { x, y } = this.ballAt(g, ball, now);
      c.beginPath();
      c.arc(x, y, Math.max(3, g.spacing * 0.24), 0, Math.PI * 2);
      c.fill();
    }
    c.shadowBlur = 0;
  }

  drawSlots(g, now) {
    const c = this.context;
    const half = this.rows / 2;
    const width = g.spacing * 0.92;
    const height = Math.max(16, g.spacing * 0.85);
    c.textAlign = "center";
    c.textBaseline = "middle";
    c.font = `800 ${Math.max(8, Math.min(14, g.spacing * 0.36))}px system-ui, sans-serif`;
    for (let slot = 0; slot <= this.rows; slot += 1) {
      const mix = Math.abs(slot - half) / half;
      const color = CENTRE.map((v, i) => Math.round(v + (EDGE[i] - v) * mix));
      const bump = this.bumps.has(slot) ? Math.max(0, 1 - (now - this.bumps.get(slot)) / 300) : 0;
      const x = g.centre + (slot - half) * g.spacing - width / 2;
      const y = g.top + (this.rows - 0.35) * g.spacing + bump * 6;
      c.fillStyle = `rgb(${color.map((v) => Math.round(v * 0.55)).join(",")})`;
      roundRect(c, x, y + 3, width, height, 4);
      c.fillStyle = `rgb(${color.join(",")})`;
      roundRect(c, x, y, width, height, 4);
      const label = this.labels[slot];
      if (label) {
        c.fillStyle = "#1a1204";
        c.fillText(label, x + width / 2, y + height / 2 + 1, width - 2);
      }
    }
  }
}

function roundRect(c, x, y, width, height, radius) {
  c.beginPath();
  c.roundRect(x, y, width, height, radius);
  c.fill();
}
