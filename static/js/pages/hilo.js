// HiLo: guess whether the next card ranks higher-or-same or lower-or-same as
// the current one (2 lowest, ace highest), or skip it. Every right guess
// multiplies the stake by 0.99 / chance; cash out after the first right guess.

import { h } from "../dom.js";
import { hiloChance, hiloRight, hiloStepMultiplier, parseCard } from "../games/odds.js";
import { notOffered, steppedGame } from "../games/stepped.js";
import { formatMultiplier } from "../money.js";

const RANK_NAMES = { J: "Jack", Q: "Queen", K: "King", A: "Ace" };
const SUIT_NAMES = { "♦": "diamonds", "♥": "hearts", "♠": "spades", "♣": "clubs" };
const GUESS_MARKS = { higher_or_same: "▲", lower_or_same: "▼", skip: "»" };
const GUESS_WORDS = { higher_or_same: "higher or same", lower_or_same: "lower or same", skip: "skip" };

const cardName = (card) => `${RANK_NAMES[card.rank] ?? card.rank} of ${SUIT_NAMES[card.suit] ?? card.suit}`;
const times = (multiplier) => `${formatMultiplier(multiplier)}×`;

/** A playing card drawn with CSS: rank and suit in two corners, the suit in the middle. */
export function playingCard(label, { small = false } = {}) {
  const card = parseCard(label);
  const corner = (extra) => h("span", { class: `pc-corner${extra}`, "aria-hidden": "true" },
    h("span", { class: "pc-rank" }, card.rank), h("span", { class: "pc-suit" }, card.suit));
  return h("div", {
    class: `playing-card${card.red ? " red" : ""}${small ? " small" : ""}`, role: "img", "aria-label": cardName(card),
    dataset: { card: label },
  }, corner(""), h("span", { class: "pc-center", "aria-hidden": "true" }, card.suit), small ? null : corner(" pc-corner-end"));
}

const cardBack = () => h("div", { class: "playing-card back", role: "img", "aria-label": "Face-down card" });

export function hiloPage(el, app) {
  if (!app.offeredGames().has("hilo")) return notOffered(el, app, "hilo", "HiLo");
  let current = null;
  let busy = false;

  const slot = h("div", { class: "hilo-slot", "data-testid": "hilo-card" }, cardBack());
  const deck = h("div", { class: "hilo-deck", "aria-hidden": "true" }, h("div", { class: "playing-card back" }), h("div", { class: "playing-card back" }));
  const banner = h("div", { class: "stage-banner", hidden: true, "aria-hidden": "true" });
  const info = h("p", { class: "stage-info", "aria-live": "polite", "data-testid": "hilo-info" });
  const table = h("div", { class: "hilo-table" }, deck, slot, banner);
  const multiplierOut = h("output", { class: "input readonly", id: "hilo-multiplier", "data-testid": "hilo-multiplier" });
  const rightOut = h("output", { class: "input readonly", id: "hilo-right" });
  const fields = [h("div", { class: "field-row" },
    h("div", { class: "field" }, h("label", { for: "hilo-multiplier" }, "Multiplier"), multiplierOut),
    h("div", { class: "field" }, h("label", { for: "hilo-right" }, "Right guesses"), rightOut))];
  const history = h("ol", { class: "hilo-history", "aria-label": "Cards of this game", "data-testid": "hilo-history" });

  const guessButton = (guess) => {
    const title = h("span", { class: "guess-title" });
    const odds = h("span", { class: "guess-odds" });
    const button = h("button", {
      type: "button", class: `btn guess-button guess-${guess}`, "data-testid": `hilo-${guess}`,
      onclick: () => game.act("guess", { guess }),
    }, h("span", { class: "guess-mark", "aria-hidden": "true" }, GUESS_MARKS[guess]), h("span", { class: "guess-text" }, title, odds));
    return { button, title, odds };
  };
  const higher = guessButton("higher_or_same");
  const lower = guessButton("lower_or_same");
  const skip = h("button", {
    type: "button", class: "btn btn-secondary skip-button", "data-testid": "hilo-skip",
    onclick: () => game.act("guess", { guess: "skip" }),
  }, "Skip card ", h("span", { "aria-hidden": "true" }, "»"));

  const renderGuesses = () => {
    const open = current?.state.state === "active";
    const card = open ? parseCard(current.state.cards.at(-1)) : null;
    for (const [choice, words] of [[higher, "Higher or same"], [lower, "Lower or same"]]) {
      const guess = choice === higher ? "higher_or_same" : "lower_or_same";
      const same = card && ((guess === "higher_or_same" && card.value === 12) || (guess === "lower_or_same" && card.value === 0));
      choice.title.textContent = same ? "Same" : words;
      choice.odds.textContent = card ? `${hiloChance(guess, card.value)}% · ${times(hiloStepMultiplier(guess, card.value))}` : "—";
      choice.button.disabled = !open || busy;
    }
    skip.disabled = !open || busy;
  };

  const renderHistory = (cards, guesses, animateLast) => {
    history.replaceChildren(...cards.map((label, i) => {
      const guess = guesses[i - 1];
      let kind = "start";
      if (i > 0) {
        kind = guess === "skip" ? "skipped"
          : hiloRight(guess, parseCard(cards[i - 1]).value, parseCard(label).value) ? "right" : "wrong";
      }
      return h("li", { class: `hilo-step ${kind}${animateLast && i === cards.length - 1 ? " fresh" : ""}` },
        playingCard(label, { small: true }),
        h("span", { class: "hilo-step-mark", title: i ? GUESS_WORDS[guess] : "start card" }, i ? GUESS_MARKS[guess] : "Start"));
    }));
    history.scrollLeft = history.scrollWidth;
  };

  function renderPanel(view) {
    multiplierOut.textContent = view && view.state !== "lost" ? times(view.multiplier) : view ? "0.00×" : "—";
    const right = view ? view.guesses.filter((guess, i) => guess !== "skip" &&
      hiloRight(guess, parseCard(view.cards[i]).value, parseCard(view.cards[i + 1]).value)).length : 0;
    rightOut.textContent = view ? String(right) : "—";
  }

  function render(data, { previous, source }) {
    current = data;
    banner.hidden = true;
    table.classList.remove("banner-shown");
    slot.classList.remove("wrong", "right");
    renderPanel(data?.state);
    if (!data) {
      slot.replaceChildren(cardBack());
      history.replaceChildren();
      info.textContent = "Place a bet to draw the first card";
      renderGuesses();
      return;
    }
    const view = data.state;
    const drawn = !previous || view.cards.length > previous.state.cards.length;
    const animate = drawn && source !== "resume";
    const top = playingCard(view.cards.at(-1));
    if (animate) top.classList.add("deal");
    if (drawn || !slot.querySelector(".playing-card:not(.back)")) slot.replaceChildren(top);
    renderHistory(view.cards, view.guesses, animate);
    const last = view.guesses.at(-1);
    const card = parseCard(view.cards.at(-1));
    if (view.state === "lost") {
      slot.classList.add("wrong");
      info.textContent = `${cardName(card)} — wrong guess, bet lost`;
    } else if (view.state === "cashed") {
      slot.classList.add("right");
      info.textContent = `Cashed out at ${times(view.multiplier)}`;
      banner.replaceChildren(
        h("span", { class: "stage-banner-multiplier" }, times(view.multiplier)),
        h("span", { class: "stage-banner-amount" }, data.bet ? app.profit(data.bet) : ""));
      banner.hidden = false;
      table.classList.add("banner-shown");
    } else if (!last) {
      info.textContent = `${cardName(card)} — higher or lower?`;
    } else {
      if (last !== "skip" && animate) slot.classList.add("right");
      info.textContent = last === "skip"
        ? `Skipped to the ${cardName(card)} · ${times(view.multiplier)}`
        : `Right! ${cardName(card)} · ${times(view.multiplier)}`;
    }
    renderGuesses();
  }

  const game = steppedGame(el, app, {
    game: "hilo",
    title: "HiLo",
    fields,
    stage: h("div", { class: "hilo-stage" },
      table,
      info,
      h("div", { class: "hilo-guesses" }, higher.button, lower.button, skip),
      history),
    startParams: () => ({}),
    progress: (view) => view.cards.length * 2 + (view.state === "active" ? 0 : 1),
    canCashout: (view) => view.guesses.some((guess) => guess !== "skip"),
    render,
    lock() {},
    setBusy(value) {
      busy = value;
      renderGuesses();
    },
    outcome(data) {
      const { state: view, bet } = data;
      return view.state === "cashed"
        ? `Cashed out at ${times(view.multiplier)} — profit ${app.profit(bet)}`
        : `Wrong guess on the ${cardName(parseCard(view.cards.at(-2)))} — bet lost`;
    },
  });
  return () => game.destroy();
}
