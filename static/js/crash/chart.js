// Draws the Crash round on a canvas: the rising curve e^(0.00006 t) up to now,
// the multiplier, the countdown while betting and the crash point.

import { fitCanvas } from "../dom.js";

const GREEN = "#00e701";
const RED = "#ff4d4d";
const TEXT = "#ffffff";
const MUTED = "#7a8fa6";
const GRID = "rgba(255,255,255,0.06)";

export class CrashChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(canvas);
    this.size = { width: 0, height: 0 };
  }

  destroy() {
    this.observer.disconnect();
  }

  resize() {
    this.size = fitCanvas(this.canvas, this.context);
  }

  draw(round) {
    const { width, height } = this.size;
    const c = this.context;
    c.clearRect(0, 0, width, height);
    if (!width) return;
    const pad = { left: 48, right: 20, top: 20, bottom: 30 };
    const elapsed = round.phase === "betting" ? 0 : round.elapsedNow();
    const multiplier = round.multiplierNow();
    const spanMs = Math.max(10000, elapsed * 1.15);
    const top = Math.max(2, multiplier * 1.15);
    const x = (ms) => pad.left + (ms / spanMs) * (width - pad.left - pad.right);
    const y = (m) => height - pad.bottom - ((m - 1) / (top - 1)) * (height - pad.top - pad.bottom);
    this.drawAxes(c, { width, height, pad, spanMs, top, x, y });

    if (round.phase === "running" || round.phase === "crashed") {
      const crashed = round.phase === "crashed";
      const color = crashed ? RED : GREEN;
      const steps = 80;
      c.beginPath();
      c.moveTo(x(0), y(1));
      for (let i = 1; i <= steps; i += 1) {
        const t = (elapsed * i) / steps;
        c.lineTo(x(t), y(Math.min(multiplier, Math.exp(0.00006 * t))));
      }
      const endX = x(elapsed);
      const endY = y(multiplier);
      c.lineWidth = 4;
      c.strokeStyle = color;
      c.lineJoin = "round";
      c.stroke();
      c.lineTo(endX, y(1));
      c.closePath();
      const fill = c.createLinearGradient(0, pad.top, 0, height - pad.bottom);
      fill.addColorStop(0, crashed ? "rgba(255,77,77,0.35)" : "rgba(0,231,1,0.35)");
      fill.addColorStop(1, "rgba(0,0,0,0)");
      c.fillStyle = fill;
      c.fill();
      c.beginPath();
      c.arc(endX, endY, 7, 0, Math.PI * 2);
      c.fillStyle = color;
      c.shadowColor = color;
      c.shadowBlur = 16;
      c.fill();
      c.shadowBlur = 0;
      this.centerText(c, width, height, `${multiplier.toFixed(2)}×`, crashed ? RED : TEXT, crashed ? "Crashed" : "");
    } else if (round.phase === "betting") {
      const left = round.bettingLeft();
      this.centerText(c, width, height, `${(left / 1000).toFixed(1)}s`, TEXT, "Next round starts in");
    } else {
      this.centerText(c, width, height, "…", MUTED, "Waiting for the next round");
    }
  }

  drawAxes(c, { width, height, pad, spanMs, top, x, y }) {
    c.strokeStyle = GRID;
    c.fillStyle = MUTED;
    c.lineWidth = 1;
    c.font = "600 11px system-ui, sans-serif";
    c.textAlign = "right";
    c.textBaseline = "middle";
    const step = niceStep((top - 1) / 4);
    for (let m = 1; m <= top + 1e-9; m += step) {
      c.beginPath();
      c.moveTo(pad.left, y(m));
      c.lineTo(width - pad.right, y(m));
      c.stroke();
      c.fillText(`${m.toFixed(step < 1 ? 1 : 0)}×`, pad.left - 8, y(m));
    }
    c.textAlign = "center";
    c.textBaseline = "top";
    const seconds = niceStep(spanMs / 1000 / 5);
    for (let s = 0; s * 1000 <= spanMs; s += seconds) c.fillText(`${s}s`, x(s * 1000), height - pad.bottom + 10);
  }

  centerText(c, width, height, big, color, small) {
    c.textAlign = "center";
    c.textBaseline = "middle";
    if (small) {
      c.fillStyle = MUTED;
      c.font = "700 15px system-ui, sans-serif";
      c.fillText(small, width / 2, height / 2 - 42);
    }
    c.fillStyle = color;
    c.font = `800 ${Math.max(36, Math.min(72, width / 9))}px system-ui, sans-serif`;
    c.fillText(big, width / 2, height / 2);
  }
}

function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
}

