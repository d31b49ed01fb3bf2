// Quiz: up to ten timed questions of four answers. Each right answer raises the
// multiplier; a wrong or late one loses the stake; cash out between questions
// once one is right. The countdown runs on the server's clock (offset from a
// ping), so the bar empties when the server's deadline passes.

import { h } from "../dom.js";
import { notOffered, steppedGame } from "../games/stepped.js";
import { compareDecimal, formatMultiplier } from "../money.js";
import { ServerClock } from "../server-time.js";

const LETTERS = ["A", "B", "C", "D"];
const REVEAL_MS = 900; // how long a right answer shows before the next question
const LOW_TIME_MS = 5000;
const ENDINGS = {
  correct: "A perfect streak — every question right!",
  cashout: "Cashed out",
  wrong: "Wrong answer — bet lost",
  late: "Too late — bet lost",
  timeout: "Time's up — bet lost",
};

const times = (multiplier) => (compareDecimal(multiplier, "0") > 0 ? `${formatMultiplier(multiplier)}×` : "—");
const categoryName = (slug) => slug.split("-").map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join(" ");

export function quizPage(el, app) {
  if (!app.offeredGames().has("quiz")) return notOffered(el, app, "quiz", "Quiz");
  const clock = new ServerClock(app.socket);
  let current = null; // the game shown
  let shown = null; // the question on screen: {number, answers...}
  let busy = false;
  let locked = false; // answered or out of time: no more clicks on this question
  let deadline = null; // {server: ms, local: ms fallback}
  let frame = 0;
  let pending = 0; // timer of a reveal before the next question
  let queued = null; // that next question
  let expiryChecks = 0;
  let expiryTimer = 0;

  const number = h("span", { class: "quiz-number", "data-testid": "quiz-number" });
  const category = h("span", { class: "quiz-category", "data-testid": "quiz-category" });
  const seconds = h("span", { class: "quiz-seconds", "aria-hidden": "true" });
  const bar = h("div", { class: "quiz-bar" });
  const timer = h("div", { class: "quiz-timer", role: "progressbar", "aria-label": "Time left", "aria-valuemin": "0" }, bar);
  const question = h("h2", { class: "quiz-question", "data-testid": "quiz-question" });
  const answers = LETTERS.map((letter, choice) => {
    const text = h("span", { class: "answer-text" });
    const button = h("button", {
      type: "button", class: "answer", "data-testid": "quiz-answer", dataset: { choice },
      onclick: () => answer(choice),
    }, h("span", { class: "answer-letter", "aria-hidden": "true" }, letter), text);
    return { button, text };
  });
  const grid = h("div", { class: "quiz-answers", role: "group", "aria-label": "Answers" }, answers.map((a) => a.button));
  const card = h("div", { class: "quiz-card" }, h("div", { class: "quiz-head" }, number, category, seconds), timer, question, grid);
  const intro = h("div", { class: "quiz-intro" },
    h("div", { class: "quiz-intro-art", "aria-hidden": "true" }, "?"),
    h("h2", {}, "How far can your knowledge take you?"),
    h("p", {}, "Questions against the clock, four answers each. Every right answer raises the multiplier — the longer the streak, the bigger the jump. A wrong or late answer loses the stake; cash out between questions any time after your first right one."));
  const segments = h("ol", { class: "quiz-streak", "aria-hidden": "true" });
  const streakText = h("span", { class: "quiz-streak-text", "data-testid": "quiz-streak" });
  const banner = h("div", { class: "stage-banner", hidden: true, "aria-hidden": "true" });
  const info = h("p", { class: "stage-info", "aria-live": "polite", "data-testid": "quiz-info" });
  const frameEl = h("div", { class: "quiz-frame" }, intro, card, banner);

  const multiplierOut = h("output", { class: "input readonly", id: "quiz-multiplier", "data-testid": "quiz-multiplier" });
  const nextOut = h("output", { class: "input readonly", id: "quiz-next", "data-testid": "quiz-next" });
  const fields = [h("div", { class: "field-row" },
    h("div", { class: "field" }, h("label", { for: "quiz-multiplier" }, "Multiplier"), multiplierOut),
    h("div", { class: "field" }, h("label", { for: "quiz-next" }, "Next answer"), nextOut))];

  const serverNow = () => clock.now();
  const remaining = () => {
    if (!deadline) return 0;
    const now = serverNow();
    return now === null ? deadline.local - Date.now() : deadline.server - now;
  };

  const renderAnswers = () => {
    const open = current?.state.state === "active" && shown && !locked;
    for (const { button } of answers) button.setAttribute("aria-disabled", String(!open || busy));
  };

  const renderStreak = (streak, max, active) => {
    segments.replaceChildren(...Array.from({ length: max }, (_, i) =>
      h("li", { class: i < streak ? "done" : i === streak && active ? "now" : "" })));
    streakText.textContent = `Streak ${streak}/${max}`;
  };

  /** Put a question on screen and start its countdown. */
  const showQuestion = (view) => {
    shown = view;
    locked = false;
    card.hidden = false;
    intro.hidden = true;
    number.textContent = `Question ${view.number} of ${view.of}`;
    category.textContent = categoryName(view.category);
    question.textContent = view.question;
    answers.forEach(({ button, text }, i) => {
      button.className = "answer";
      text.textContent = view.answers[i];
      button.setAttribute("aria-label", `${LETTERS[i]}: ${view.answers[i]}`);
    });
    deadline = { server: view.deadline_ms, local: Date.now() + view.time_limit_ms };
    timer.setAttribute("aria-valuemax", String(view.time_limit_ms));
    card.classList.remove("fresh");
    void card.offsetWidth;
    card.classList.add("fresh");
    expiryChecks = 0;
    tick();
    renderAnswers();
  };

  /** Mark the answers of the question on screen: the right one, and the player's pick. */
  const markReveal = (reveal, choice) => {
    answers.forEach(({ button }, i) => {
      button.classList.toggle("right", i === reveal);
      button.classList.toggle("wrong", i === choice && choice !== reveal);
      button.classList.toggle("faded", i !== reveal && i !== choice);
    });
  };

  const stopClock = () => {
    cancelAnimationFrame(frame);
    frame = 0;
  };

  function tick() {
    stopClock();
    const open = current?.state.state === "active" && shown && !locked;
    const total = shown?.time_limit_ms ?? 1;
    const left = Math.max(0, Math.min(total, remaining()));
    bar.style.transform = `scaleX(${open || locked ? left / total : 0})`;
    timer.classList.toggle("low", left < LOW_TIME_MS);
    timer.setAttribute("aria-valuenow", String(Math.round(left)));
    seconds.textContent = shown ? `${(left / 1000).toFixed(1)} s` : "";
    if (!open) return;
    if (left <= 0) {
      outOfTime();
      return;
    }
    frame = requestAnimationFrame(tick);
  }

  /** The server's deadline passed here: ask it to settle (its sweep would, a moment later). */
  function outOfTime() {
    locked = true;
    renderAnswers();
    info.textContent = "Time's up…";
    clearTimeout(expiryTimer);
    const check = () => {
      if (current?.state.state !== "active" || expiryChecks >= 5) return;
      expiryChecks += 1;
      game.resync();
      expiryTimer = setTimeout(check, 1000);
    };
    expiryTimer = setTimeout(check, 150);
  }

  function answer(choice) {
    if (answers[choice].button.getAttribute("aria-disabled") === "true") return;
    locked = true;
    answers[choice].button.classList.add("chosen");
    renderAnswers();
    game.act("answer", { choice }).then((data) => {
      if (data === null && current?.state.state === "active") {
        locked = false; // refused (say the connection dropped): the question is still open
        answers[choice].button.classList.remove("chosen");
        renderAnswers();
        tick();
      }
    });
  }

  function renderPanel(view) {
    const q = view?.question;
    multiplierOut.textContent = times(q?.multiplier ?? view?.multiplier ?? "0");
    nextOut.textContent = q ? times(q.next_multiplier) : "—";
  }

  function render(data, { previous, source }) {
    clearTimeout(expiryTimer);
    if (queued) {
      // A change during the reveal of a right answer: the next question first.
      clearTimeout(pending);
      showQuestion(queued);
      queued = null;
    }
    current = data;
    banner.hidden = true;
    frameEl.classList.remove("banner-shown");
    renderPanel(data?.state);
    if (!data) {
      stopClock();
      shown = null;
      card.hidden = true;
      intro.hidden = false;
      renderStreak(0, 10, false);
      info.textContent = "Place a bet to get the first question";
      renderAnswers();
      return;
    }
    const view = data.state;
    renderStreak(view.streak, view.max_streak, view.state === "active");
    const result = data.result ?? {};
    // An answer (or cashout) of the question on screen?
    const closed = Boolean(shown && previous?.state.question?.number === shown.number && "reveal" in result);
    if (view.state === "active") {
      info.textContent = view.streak ? `Right! Streak ${view.streak} · ${times(view.multiplier)}` : "Pick an answer before the time runs out";
      if (closed && result.event === "correct" && source !== "resume") {
        locked = true;
        stopClock();
        markReveal(result.reveal, result.choice);
        queued = view.question;
        pending = setTimeout(() => {
          queued = null;
          showQuestion(view.question);
        }, REVEAL_MS);
      } else if (!shown || shown.number !== view.question.number || previous === null) showQuestion(view.question);
      else renderAnswers();
      return;
    }
    // Ended: the last question stays on screen with its right answer.
    stopClock();
    locked = true;
    if (closed) markReveal(result.reveal, result.choice);
    else if (shown && view.reveal !== null) markReveal(view.reveal, null);
    tick();
    renderAnswers();
    const ending = ENDINGS[view.ended_by] ?? "Game over";
    if (view.state === "cashed") {
      info.textContent = `${ending} at ${times(view.multiplier)}`;
      banner.replaceChildren(
        h("span", { class: "stage-banner-multiplier" }, times(view.multiplier)),
        h("span", { class: "stage-banner-amount" }, data.bet ? app.profit(data.bet) : ""));
      banner.hidden = false;
      frameEl.classList.add("banner-shown");
    } else {
      info.textContent = result.correct_answer ? `${ending}. The answer was: ${result.correct_answer}` : ending;
    }
    if (!shown) {
      card.hidden = true;
      intro.hidden = false;
    }
  }

  const game = steppedGame(el, app, {
    game: "quiz",
    title: "Quiz",
    fields,
    stage: h("div", { class: "quiz-stage" },
      frameEl,
      info,
      h("div", { class: "quiz-progress" }, streakText, segments)),
    startParams: () => ({}),
    progress: (view) => view.streak * 2 + (view.state === "active" ? 0 : 1),
    canCashout: (view) => Boolean(view.question?.can_cashout),
    render,
    lock() {},
    setBusy(value) {
      busy = value;
      renderAnswers();
    },
    outcome(data) {
      const { state: view, bet } = data;
      const ending = ENDINGS[view.ended_by] ?? "Game over";
      return view.state === "cashed"
        ? `${ending} at ${times(view.multiplier)} — profit ${app.profit(bet)}`
        : ending;
    },
  });

  const hotkey = (event) => {
    const choice = ["1", "2", "3", "4"].indexOf(event.key);
    if (choice < 0 || event.repeat || ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName)) return;
    if (document.querySelector("dialog[open]")) return;
    answer(choice);
  };
  document.addEventListener("keydown", hotkey);
  const sync = () => clock.sync().then(() => current && tick()).catch(() => {});
  const stopSync = app.socket.on("open", sync);
  sync();

  return () => {
    stopClock();
    clearTimeout(pending);
    clearTimeout(expiryTimer);
    document.removeEventListener("keydown", hotkey);
    stopSync();
    game.destroy();
  };
}
