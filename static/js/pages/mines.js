// Mines: a 5x5 board hides 1-24 mines. Reveal tiles (buttons: click, or Enter
// / Space when focused); every gem raises the multiplier, a mine loses the
// stake; cash out any time after the first gem. The board shows everything
// once the game is over. In Auto the player chooses tiles first; every autobet
// game reveals them in the order chosen and cashes out if they were all gems.

import { h } from "../dom.js";
import { selectField } from "../games/instant.js";
import { MINES_TILES, minesChance, minesMultiplier } from "../games/odds.js";
import { integers, range } from "../games/schema.js";
import { notOffered, steppedGame } from "../games/stepped.js";
import { formatMultiplier } from "../money.js";
import { randomBelow } from "../random.js";
import { gemArt, mineArt } from "../ui/art.js";

const COLUMNS = 5;
const DEFAULT_MINES = 3;
const REVEAL_ALL_STEP_MS = 25;

const tileName = (tile) => `Tile ${tile + 1}, row ${Math.floor(tile / COLUMNS) + 1}, column ${(tile % COLUMNS) + 1}`;
const times = (multiplier) => (multiplier === null ? "—" : `${formatMultiplier(multiplier)}×`);
/** The next tile's multiplier and chance after `safe` gems: "1.13× · 88.00%". */
const next = (mines, safe) => (minesChance(mines, safe) === null ? "—"
  : `${times(minesMultiplier(mines, safe + 1))} · ${minesChance(mines, safe)}%`);

export function minesPage(el, app) {
  if (!app.offeredGames().has("mines")) return notOffered(el, app, "mines", "Mines");
  const [low, high] = range(app.store.get("schemas").mines, "mines");
  let mines = Math.min(Math.max(DEFAULT_MINES, low), high);
  let timers = [];
  let current = null; // the game shown (reply or event), or null
  let busy = false;
  let autoMode = false;
  const chosen = []; // tiles autobet reveals, in the order chosen

  const tiles = Array.from({ length: MINES_TILES }, (_, tile) =>
    h("button", {
      type: "button", class: "tile", "aria-disabled": "true", "aria-label": `${tileName(tile)}: hidden`,
      dataset: { tile, testid: "mines-tile" }, onclick: () => reveal(tile),
    }));
  const board = h("div", { class: "mines-board", role: "group", "aria-label": "Mines board" }, tiles);
  const banner = h("div", { class: "stage-banner", hidden: true, "aria-hidden": "true" });
  const info = h("p", { class: "stage-info", "aria-live": "polite", "data-testid": "mines-info" });

  const minesField = selectField("mines-count", "Mines", integers([low, high]), mines, (value) => {
    mines = Number(value);
    chosen.splice(MINES_TILES - mines); // autobet's tiles: at most as many as there are gems
    renderIdleOdds();
    renderTiles();
  });
  const gemsOut = h("output", { class: "input readonly", id: "mines-gems" });
  const multiplierOut = h("output", { class: "input readonly", id: "mines-multiplier", "data-testid": "mines-multiplier" });
  const nextOut = h("output", { class: "input readonly", id: "mines-next", "data-testid": "mines-next" });
  const randomButton = h("button", {
    type: "button", class: "btn btn-secondary btn-block", hidden: true, onclick: () => randomTile(),
  }, "Pick a random tile");
  const fields = [
    h("div", { class: "field-row" },
      minesField.el,
      h("div", { class: "field" }, h("label", { for: "mines-gems" }, "Gems"), gemsOut)),
    h("div", { class: "field-row" },
      h("div", { class: "field" }, h("label", { for: "mines-multiplier" }, "Multiplier"), multiplierOut),
      h("div", { class: "field" }, h("label", { for: "mines-next" }, "Next tile"), nextOut)),
    randomButton,
  ];

  const clearTimers = () => {
    timers.forEach(clearTimeout);
    timers = [];
  };

  /** Show what a tile hides; `fresh` plays the reveal animation, `dim` marks one the player did not pick. */
  const show = (tile, kind, { fresh = false, dim = false, hit = false } = {}) => {
    const button = tiles[tile];
    if (button.dataset.shown === kind && !fresh) {
      button.classList.toggle("dim", dim);
      return;
    }
    button.dataset.shown = kind;
    button.className = `tile ${kind}${dim ? " dim" : ""}${hit ? " hit" : ""}${fresh ? " fresh" : ""}`;
    button.replaceChildren(kind === "gem" ? gemArt() : mineArt());
    button.setAttribute("aria-label", `${tileName(tile)}: ${kind}${hit ? ", hit" : ""}`);
  };
  const hide = (tile) => {
    const button = tiles[tile];
    delete button.dataset.shown;
    button.className = "tile";
    button.replaceChildren();
    button.setAttribute("aria-label", `${tileName(tile)}: hidden`);
  };

  const renderIdleOdds = () => {
    gemsOut.textContent = String(MINES_TILES - mines);
    multiplierOut.textContent = times(minesMultiplier(mines, 0));
    nextOut.textContent = next(mines, 0);
  };

  function render(data, { previous, source }) {
    clearTimers();
    current = data;
    banner.hidden = true;
    if (!data) {
      tiles.forEach((_, tile) => hide(tile));
      board.classList.remove("over", "lost");
      randomButton.hidden = true;
      renderIdleOdds();
      info.textContent = "Choose your mines and place a bet";
      return;
    }
    const view = data.state;
    const open = view.state === "active";
    const seen = new Set(previous?.state.revealed ?? []);
    const revealed = new Set(view.revealed);
    const animate = source !== "resume";
    if (!previous) tiles.forEach((_, tile) => hide(tile));
    for (const tile of view.revealed) show(tile, "gem", { fresh: animate && !seen.has(tile) });
    if (view.hit_mine !== null) show(view.hit_mine, "mine", { fresh: animate, hit: true });
    board.classList.toggle("over", !open);
    board.classList.toggle("lost", view.state === "lost");
    if (!open && view.mines) {
      // The whole board, tile after tile, around the player's picks.
      const mineSet = new Set(view.mines);
      const rest = tiles.map((_, tile) => tile).filter((tile) => !revealed.has(tile) && tile !== view.hit_mine);
      rest.forEach((tile, i) => {
        const reveal = () => show(tile, mineSet.has(tile) ? "mine" : "gem", { dim: true, fresh: animate });
        if (animate) timers.push(setTimeout(reveal, 250 + i * REVEAL_ALL_STEP_MS));
        else reveal();
      });
    }
    const safe = view.revealed.length;
    gemsOut.textContent = String(MINES_TILES - view.mine_count - (open ? safe : 0)); // left to find, while open
    multiplierOut.textContent = times(view.state === "lost" ? "0" : view.multiplier);
    nextOut.textContent = open ? next(view.mine_count, safe) : "—";
    mines = view.mine_count;
    minesField.select.value = String(mines);
    randomButton.hidden = !open;
    if (open) {
      info.textContent = safe ? `${safe} ${safe === 1 ? "gem" : "gems"} · ${times(view.multiplier)} · next tile ${next(view.mine_count, safe)}`
        : `${view.mine_count} ${view.mine_count === 1 ? "mine" : "mines"} hidden · first tile ${next(view.mine_count, 0)}`;
    } else if (view.state === "cashed") {
      info.textContent = `Cashed out with ${safe} ${safe === 1 ? "gem" : "gems"}`;
      banner.replaceChildren(
        h("span", { class: "stage-banner-multiplier" }, times(view.multiplier)),
        h("span", { class: "stage-banner-amount" }, data.bet ? app.profit(data.bet) : ""));
      banner.hidden = false;
    } else {
      info.textContent = `Boom — a mine after ${safe} ${safe === 1 ? "gem" : "gems"}`;
    }
    renderTiles();
  }

  const renderTiles = () => {
    const open = current?.state.state === "active";
    const revealed = new Set(current?.state.revealed ?? []);
    const choosing = autoMode && !open && !busy;
    // aria-disabled, not disabled: a tile keeps the keyboard focus through its own reveal.
    tiles.forEach((button, tile) => {
      button.setAttribute("aria-disabled", String(!choosing && (!open || busy || revealed.has(tile))));
      button.classList.toggle("chosen", autoMode && chosen.includes(tile) && !button.dataset.shown);
      button.setAttribute("aria-pressed", String(autoMode && chosen.includes(tile)));
    });
  };

  /** Choose or unchoose a tile for autobet (the board is cleared of the last game first). */
  const choose = (tile) => {
    if (current) render(null, { previous: null, source: "resume" });
    const at = chosen.indexOf(tile);
    if (at >= 0) chosen.splice(at, 1);
    else if (chosen.length < MINES_TILES - mines) chosen.push(tile);
    info.textContent = chosen.length ? `${chosen.length} ${chosen.length === 1 ? "tile" : "tiles"} chosen for autobet`
      : "Choose the tiles autobet reveals";
    renderTiles();
  };

  const reveal = (tile) => {
    if (tiles[tile].getAttribute("aria-disabled") === "true") return;
    if (autoMode && current?.state.state !== "active") choose(tile);
    else game.act("reveal", { tile });
  };
  const randomTile = () => {
    const revealed = new Set(current?.state.revealed ?? []);
    const hidden = tiles.map((_, tile) => tile).filter((tile) => !revealed.has(tile));
    if (hidden.length) reveal(hidden[randomBelow(hidden.length)]);
  };

  const game = steppedGame(el, app, {
    game: "mines",
    title: "Mines",
    fields,
    stage: h("div", { class: "mines-stage" }, h("div", { class: "mines-frame" }, board, banner), info),
    startParams: () => ({ mines }),
    progress: (view) => view.revealed.length * 2 + (view.state === "active" ? 0 : 1),
    canCashout: (view) => view.revealed.length > 0,
    render,
    lock(locked) {
      minesField.select.disabled = locked;
    },
    setBusy(value) {
      busy = value;
      randomButton.disabled = value;
      renderTiles();
    },
    autoMoves() {
      if (chosen.length) return chosen.map((tile) => ({ action: "reveal", params: { tile } }));
      info.textContent = "Choose the tiles autobet reveals";
      return null;
    },
    onMode(value) {
      autoMode = value;
      if (autoMode && !current) info.textContent = "Choose the tiles autobet reveals";
      renderTiles();
    },
    outcome(data) {
      const { state: view, bet } = data;
      return view.state === "cashed"
        ? `Cashed out at ${times(view.multiplier)} — profit ${app.profit(bet)}`
        : "You hit a mine — bet lost";
    },
  });
  return () => {
    clearTimers();
    game.destroy();
  };
}
