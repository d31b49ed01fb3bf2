// Smooth number animation for amounts shown in minor units.

const DURATION_MS = 600;

/**
 * Keep `el` showing `format(value)`; `to(value)` animates from what is shown now.
 * Returns {to, jump}.
 */
export function numberTween(el, format) {
  let shown = null;
  let frame = 0;
  const render = (value) => {
    el.textContent = format(value);
  };
  return {
    jump(value) {
      cancelAnimationFrame(frame);
      shown = value;
      render(value);
    },
    to(value) {
      const still = document.hidden || matchMedia("(prefers-reduced-motion: reduce)").matches;
      if (shown === null || shown === value || still) {
        this.jump(value);
        return;
      }
      cancelAnimationFrame(frame);
      const from = shown;
      const start = performance.now();
      el.classList.remove("tick-up", "tick-down");
      void el.offsetWidth; // restart the flash animation
      el.classList.add(value > from ? "tick-up" : "tick-down");
      const step = (now) => {
        const t = Math.min(1, (now - start) / DURATION_MS);
        const eased = 1 - (1 - t) ** 3;
        shown = t === 1 ? value : Math.round(from + (value - from) * eased);
        render(shown);
        if (t < 1) frame = requestAnimationFrame(step);
      };
      frame = requestAnimationFrame(step);
    },
  };
}
