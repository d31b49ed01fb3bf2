// Dice: roll 0.00-100.00 over or under a target. Win chance, target and
// multiplier are linked: multiplier = 99 / chance rounded down to 4 decimals,
// chance in [0.01, 98]. All three are held as integers (hundredths).

import { h } from "../dom.js";
import { instantGame } from "../games/instant.js";
import { parseDecimal } from "../money.js";

const MIN_CHANCE = 1; // 0.01 %
const MAX_CHANCE = 9800; // 98 %
const FULL = 10000; // 100.00

/** 99 / chance in ten-thousandths, rounded down (chance in hundredths of a percent). */
function multiplierX10000(chance) {
  return Math.floor((9900 * 10000) / chance);
}

const hundredths = (value) => `${Math.floor(value / 100)}.${String(value % 100).padStart(2, "0")}`;
const tenThousandths = (value) => `${Math.floor(value / 10000)}.${String(value % 10000).padStart(4, "0")}`;
const clampChance = (chance) => Math.min(MAX_CHANCE, Math.max(MIN_CHANCE, chance));

export function dicePage(el, app) {
  let condition = "over";
  let chance = 4950;
  const target = () => (condition === "under" ? chance : FULL - chance);

  const slider = h("input", {
    type: "range", class: "dice-range", min: 0, max: FULL, step: 1, "aria-label": "Target",
    "data-testid": "dice-slider",
  });
  const marker = h("div", { class: "dice-marker", hidden: true, "aria-hidden": "true" }, h("span", { class: "dice-marker-value" }));
  const track = h("div", { class: "dice-track" }, slider, marker);
  const scale = h("div", { class: "dice-scale", "aria-hidden": "true" }, ["0", "25", "50", "75", "100"].map((n) => h("span", {}, n)));
  const multiplierInput = h("input", { class: "input", id: "dice-multiplier", inputMode: "decimal", "data-testid": "dice-multiplier" });
  const chanceInput = h("input", { class: "input", id: "dice-chance", inputMode: "decimal", "data-testid": "dice-chance" });
  const targetButton = h("button", { type: "button", class: "input swap", id: "dice-target", "data-testid": "dice-condition" });
  const targetLabel = h("label", { for: "dice-target" });
  const live = h("p", { class: "sr-only", "aria-live": "polite" });

  const render = () => {
    const t = target();
    slider.value = t;
    track.style.setProperty("--split", `${t / 100}%`);
    track.dataset.condition = condition;
    multiplierInput.value = tenThousandths(multiplierX10000(chance));
    chanceInput.value = hundredths(chance);
    targetLabel.textContent = condition === "over" ? "Roll over" : "Roll under";
    targetButton.replaceChildren(h("span", {}, hundredths(t)), h("span", { class: "swap-icon", "aria-hidden": "true" }, "⇄"));
    targetButton.setAttribute("aria-label", `${targetLabel.textContent} ${hundredths(t)}: switch over or under`);
    game.controls.setProfitMultiplier(tenThousandths(multiplierX10000(chance)));
  };
  slider.addEventListener("input", () => {
    const value = Number(slider.value);
    chance = clampChance(condition === "under" ? value : FULL - value);
    render();
  });
  targetButton.addEventListener("click", () => {
    condition = condition === "over" ? "under" : "over";
    render();
  });
  const onDecimal = (input, decimals, toChance) => input.addEventListener("change", () => {
    const parsed = parseDecimal(input.value, decimals);
    if (parsed.minor !== undefined) chance = clampChance(toChance(parsed.minor));
    render();
  });
  onDecimal(chanceInput, 2, (value) => value);
  onDecimal(multiplierInput, 4, (value) => Math.round((9900 * 10000) / value));

  const stage = h("div", { class: "dice-stage" },
    h("div", { class: "dice-board" }, scale, track),
    h("div", { class: "dice-fields" },
      h("div", { class: "field" }, h("label", { for: "dice-multiplier" }, "Multiplier"), h("div", { class: "input-wrap" }, multiplierInput, h("span", { class: "suffix" }, "×"))),
      h("div", { class: "field" }, targetLabel, targetButton),
      h("div", { class: "field" }, h("label", { for: "dice-chance" }, "Win chance"), h("div", { class: "input-wrap" }, chanceInput, h("span", { class: "suffix" }, "%")))),
    live);

  const game = instantGame(el, app, {
    game: "dice",
    title: "Dice",
    fields: [],
    stage,
    params: () => ({ target: hundredths(target()), condition }),
    onResult(record) {
      const won = Number(record.multiplier) > 0;
      const roll = record.outcome.roll;
      marker.hidden = false;
      marker.style.left = `${Number(roll)}%`;
      marker.classList.toggle("win", won);
      marker.classList.toggle("loss", !won);
      marker.firstChild.textContent = roll;
      marker.dataset.testid = "dice-roll";
      game.results.push(roll, won);
      live.textContent = `Rolled ${roll}: ${won ? "win" : "loss"}`;
    },
  });
  render();
  return () => game.destroy();
}
