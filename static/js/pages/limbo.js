// Limbo: choose a target multiplier; the draw wins when it reaches it.
// Win chance = 99 / target percent (shown; the server decides).

import { h } from "../dom.js";
import { instantGame } from "../games/instant.js";
import { compareDecimal, formatAmount, parseDecimal } from "../money.js";

const MIN_TARGET = 101; // 1.01x in hundredths
const MAX_TARGET = 100_000_000; // the server's default cap, 1,000,000x, in hundredths
const ANIMATION_MS = 550;

const hundredths = (value) => `${Math.floor(value / 100)}.${String(value % 100).padStart(2, "0")}`;

export function limboPage(el, app) {
  let target = 200;
  let frame = 0;
  const display = h("div", { class: "limbo-display", "data-testid": "limbo-result" }, "1.00×");
  const targetInput = h("input", { class: "input", id: "limbo-target", inputMode: "decimal", "data-testid": "limbo-target" });
  const chanceInput = h("input", { class: "input", id: "limbo-chance", inputMode: "decimal" });
  const live = h("p", { class: "sr-only", "aria-live": "polite" });
  const targetError = h("p", { class: "field-error", id: "limbo-target-error", "aria-live": "polite" });
  targetInput.setAttribute("aria-describedby", targetError.id);
  /** Say why the typed target is refused (it stays as typed); "" accepts it. */
  const refuseTarget = (message) => {
    targetError.textContent = message;
    if (message) targetInput.setAttribute("aria-invalid", "true");
    else targetInput.removeAttribute("aria-invalid");
  };

  const render = () => {
    targetInput.value = hundredths(target);
    chanceInput.value = (9900 / target).toFixed(8).replace(/0+$/, "").replace(/\.$/, "");
    game.controls.setProfitMultiplier(hundredths(target));
  };
  targetInput.addEventListener("change", () => {
    const parsed = parseDecimal(targetInput.value, 2);
    if (parsed.minor > MAX_TARGET) {
      refuseTarget(`The target is at most ${formatAmount(MAX_TARGET, 2)}×`);
      return;
    }
    refuseTarget("");
    if (parsed.minor !== undefined) target = Math.max(MIN_TARGET, parsed.minor);
    render();
  });
  chanceInput.addEventListener("change", () => {
    refuseTarget("");
    const chance = Number(chanceInput.value);
    if (chance > 0 && chance <= 99) target = Math.max(MIN_TARGET, Math.round(9900 / chance));
    render();
  });

  /** Count up from 1.00 to the result (geometrically, so big results feel fast too). */
  const animate = (result, won) => {
    cancelAnimationFrame(frame);
    display.classList.remove("win", "loss");
    const end = Number(result);
    const start = performance.now();
    const step = (now) => {
      const t = Math.min(1, (now - start) / ANIMATION_MS);
      const eased = 1 - (1 - t) ** 3;
      display.textContent = t === 1 ? `${result}×` : `${(end ** eased).toFixed(2)}×`;
      if (t < 1) frame = requestAnimationFrame(step);
      else display.classList.add(won ? "win" : "loss");
    };
    frame = requestAnimationFrame(step);
  };

  const stage = h("div", { class: "limbo-stage" },
    h("div", { class: "limbo-screen" }, display),
    h("div", { class: "dice-fields two" },
      h("div", { class: "field" }, h("label", { for: "limbo-target" }, "Target multiplier"), h("div", { class: "input-wrap" }, targetInput, h("span", { class: "suffix" }, "×")), targetError),
      h("div", { class: "field" }, h("label", { for: "limbo-chance" }, "Win chance"), h("div", { class: "input-wrap" }, chanceInput, h("span", { class: "suffix" }, "%")))),
    live);

  const game = instantGame(el, app, {
    game: "limbo",
    title: "Limbo",
    fields: [],
    stage,
    params: () => (targetError.textContent ? null : { target: hundredths(target) }),
    onResult(record) {
      const result = record.outcome.result;
      const won = compareDecimal(result, record.params.target) >= 0;
      animate(result, won);
      setTimeout(() => game.results.push(`${result}×`, won), ANIMATION_MS);
      live.textContent = `Result ${result}×: ${won ? "win" : "loss"}`;
    },
  });
  render();
  return () => {
    cancelAnimationFrame(frame);
    game.destroy();
  };
}
