// Provable fairness: the player's seed pair (rotate, set a client seed) and a
// verifier that recomputes an outcome in this browser (Web Crypto) next to
// the server's own answer from /api/fairness/verify (Quiz: the server's alone).

import { h, replaceChildren } from "../dom.js";
import { plainWords } from "../errors.js";
import { GAME_BY_ID } from "../games/catalog.js";
import { SERVER_ONLY, canVerify, hmacSha256, recompute, sha256Hex, verifiableGames } from "../fairness/outcomes.js";
import { api } from "../http.js";
import { newKey } from "../random.js";
import { toast } from "../ui/toast.js";

export function fairnessPage(el, app) {
  const verifier = verifierCard(app);
  el.append(h("h1", { class: "page-title" }, "Provable fairness"),
    h("p", { class: "lead" }, "Every outcome comes from HMAC-SHA256 of your seed pair and the bet's nonce. The server commits to its seed with a hash before you bet; rotating reveals it, and anyone can then recompute each bet."),
    seedsCard(app, verifier.fill), verifier.el);
  const crash = app.store.get("offered").has("crash") ? crashCard() : null;
  if (crash) el.append(crash.el);
  const bet = app.verifyNext; // a bet's Verify button sent the player here
  app.verifyNext = null;
  if (bet?.outcome?.hash) crash?.fill(bet.outcome.hash);
  else if (bet) verifier.fill({ server_seed: bet.server_seed ?? "", client_seed: bet.client_seed }, bet);
}

function seedsCard(app, fill) {
  const el = h("section", { class: "card seeds-card", "aria-labelledby": "seeds-title" });
  if (!app.store.get("user")) {
    el.append(h("h2", { id: "seeds-title" }, "Your seeds"), h("p", { class: "muted" }, "Sign in to see and rotate your seed pair."));
    return el;
  }
  const active = h("dl", { class: "facts" });
  const revealed = h("div", { class: "revealed" });
  const seedInput = h("input", { class: "input mono", id: "new-client-seed", value: newKey("seed").slice(5, 25), maxLength: 64, "data-testid": "new-client-seed" });
  const rotate = h("button", { class: "btn btn-primary", type: "submit", "data-testid": "rotate" }, "Rotate seed pair");
  const lastBetOf = (pair) => app.store.get("myBets").find((bet) => bet.server_seed_hash === pair.server_seed_hash);
  const showActive = (pair) => replaceChildren(active,
    fact("Active server seed (SHA-256)", pair.server_seed_hash, "seed-hash"),
    fact("Client seed", pair.client_seed, "client-seed"),
    fact("Next nonce", String(pair.nonce), "nonce"));
  const form = h("form", {
    class: "inline-form",
    onsubmit: async (event) => {
      event.preventDefault();
      rotate.disabled = true;
      try {
        const result = await app.socket.request("seeds.rotate", { client_seed: seedInput.value.trim() || undefined }, { resend: false });
        showActive(result.active);
        await app.loadMyBets();
        if (result.revealed) {
          const pair = result.revealed;
          replaceChildren(revealed, h("h3", {}, "Revealed pair"), h("dl", { class: "facts" },
            fact("Server seed", pair.server_seed), fact("Its SHA-256", pair.server_seed_hash),
            fact("Client seed", pair.client_seed), fact("Bets made", String(pair.nonce))),
          h("button", { class: "btn btn-secondary", type: "button", onclick: () => fill(pair, lastBetOf(pair)) }, "Verify a bet of this pair"));
        }
        toast("New seed pair active", "success");
      } catch (error) {
        toast(plainWords(error), "error");
      } finally {
        rotate.disabled = false;
      }
    },
  }, h("div", { class: "field grow" }, h("label", { for: "new-client-seed" }, "New client seed"), seedInput), rotate);
  el.append(h("h2", { id: "seeds-title" }, "Your seeds"), active, form, revealed);
  app.socket.request("seeds").then(({ active: pair }) => showActive(pair)).catch((error) => toast(plainWords(error), "error"));
  return el;
}

function fact(term, value, testid) {
  return h("div", { class: "fact" }, h("dt", {}, term), h("dd", { class: "mono", "data-testid": testid }, value));
}

/** Form fields for a game's params, generated from its JSON schema. */
function paramFields(schema) {
  const fields = Object.entries(schema?.properties ?? {}).map(([name, spec]) => {
    const id = `verify-${name}`;
    let input;
    if (spec.enum) input = h("select", { class: "input", id }, spec.enum.map((v) => h("option", { value: v }, v)));
    else if (spec.type === "integer") input = h("input", { class: "input", id, type: "number", min: spec.minimum, max: spec.maximum, value: spec.minimum });
    else if (spec.type === "array") input = h("input", { class: "input", id, value: "1, 2, 3, 4, 5", "aria-describedby": `${id}-hint` });
    else input = h("input", { class: "input", id, value: "2.00", inputMode: "decimal" });
    const read = () => {
      if (spec.type === "integer") return Number(input.value);
      if (spec.type === "array") return input.value.split(/[\s,]+/).filter(Boolean).map(Number);
      return input.value.trim();
    };
    const write = (value) => {
      input.value = Array.isArray(value) ? value.join(", ") : String(value);
    };
    return {
      name, read, write,
      el: h("div", { class: "field" }, h("label", { for: id }, spec.title ?? name), input,
        spec.type === "array" ? h("p", { class: "hint", id: `${id}-hint` }, "Numbers separated by commas") : null),
    };
  });
  return {
    els: fields.map((f) => f.el),
    read: () => Object.fromEntries(fields.map((f) => [f.name, f.read()])),
    write: (values) => fields.forEach((f) => f.name in values && f.write(values[f.name])),
  };
}

function verifierCard(app) {
  const schemas = app.store.get("schemas");
  const games = [...verifiableGames(), ...Object.keys(SERVER_ONLY)].filter((game) => game in schemas);
  const gameSelect = h("select", { class: "input", id: "verify-game", onchange: () => showParams() },
    games.map((game) => h("option", { value: game }, titleOf(game))));
  const serverSeed = h("input", { class: "input mono", id: "verify-server-seed", required: true, pattern: "[0-9a-f]{64}", placeholder: "64 hex characters", "data-testid": "verify-server-seed" });
  const clientSeed = h("input", { class: "input mono", id: "verify-client-seed", required: true, "data-testid": "verify-client-seed" });
  const nonce = h("input", { class: "input", id: "verify-nonce", type: "number", min: 0, value: 0, required: true, "data-testid": "verify-nonce" });
  const paramsBox = h("div", { class: "form-grid" });
  const output = h("div", { class: "verify-output", "aria-live": "polite", "data-testid": "verify-output" });
  let params = null;
  const showParams = () => {
    const game = gameSelect.value;
    params = paramFields(schemas[game]);
    replaceChildren(paramsBox, params.els, SERVER_ONLY[game]
      ? h("p", { class: "hint", "data-testid": "server-only" }, `${titleOf(game)} is checked by the server only: ${SERVER_ONLY[game]}.`)
      : null);
  };
  showParams();

  const verify = async (event) => {
    event.preventDefault();
    const request = {
      game: gameSelect.value, server_seed: serverSeed.value.trim(), client_seed: clientSeed.value.trim(),
      nonce: Number(nonce.value), params: params.read(),
    };
    const serverOnly = SERVER_ONLY[request.game];
    const browser = canVerify()
      ? Promise.all([
        serverOnly ? null : recompute(request.game, request.params, request.server_seed, request.client_seed, request.nonce),
        sha256Hex(request.server_seed)])
      : Promise.reject(new Error("Web Crypto needs a secure page (https)"));
    const [mine, theirs] = await Promise.allSettled([browser, api("/api/fairness/verify", { method: "POST", body: request })]);
    const match = mine.status === "fulfilled" && theirs.status === "fulfilled" &&
      JSON.stringify(mine.value[0]) === JSON.stringify(theirs.value.outcome);
    replaceChildren(output,
      serverOnly
        ? h("div", { class: "verdict note", "data-testid": "verdict" }, `Checked by the server only: ${serverOnly}`)
        : h("div", { class: `verdict ${match ? "ok" : "bad"}`, "data-testid": "verdict" }, match ? "✓ Your browser and the server agree" : "✗ The results differ"),
      h("div", { class: "verify-columns" },
        column("Your browser", mine, ([outcome, hash]) => [outcome && outcomeFacts(outcome), fact("Server seed hash", hash)]),
        column("Server", theirs, (answer) => [outcomeFacts(answer.outcome),
          answer.multiplier === undefined ? null : fact("Multiplier", `${answer.multiplier}×`),
          fact("Server seed hash", answer.server_seed_hash)])));
  };

  const el = h("section", { class: "card", "aria-labelledby": "verify-title" },
    h("h2", { id: "verify-title" }, "Verify a bet"),
    h("form", { class: "verify-form", onsubmit: verify },
      h("div", { class: "form-grid" },
        h("div", { class: "field" }, h("label", { for: "verify-game" }, "Game"), gameSelect),
        h("div", { class: "field wide" }, h("label", { for: "verify-server-seed" }, "Server seed (revealed)"), serverSeed),
        h("div", { class: "field" }, h("label", { for: "verify-client-seed" }, "Client seed"), clientSeed),
        h("div", { class: "field" }, h("label", { for: "verify-nonce" }, "Nonce"), nonce)),
      paramsBox,
      h("button", { class: "btn btn-primary", type: "submit", "data-testid": "verify" }, "Verify")),
    output);
  return {
    el,
    /** Fill in a revealed seed pair and, if known, one of its bets. */
    fill(pair, bet) {
      serverSeed.value = pair.server_seed;
      clientSeed.value = pair.client_seed;
      nonce.value = bet?.nonce ?? 0;
      if (bet && games.includes(bet.game)) {
        gameSelect.value = bet.game;
        showParams();
        params.write(bet.params);
      }
      serverSeed.scrollIntoView({ behavior: "smooth", block: "center" });
    },
  };
}

const titleOf = (game) => GAME_BY_ID[game]?.title ?? game;

function column(title, settled, render) {
  return h("div", { class: "verify-column" }, h("h3", {}, title),
    settled.status === "fulfilled"
      ? h("dl", { class: "facts" }, render(settled.value))
      : h("p", { class: "form-error" }, plainWords(settled.reason)));
}

function outcomeFacts(outcome) {
  return Object.entries(outcome).map(([name, value]) => name === "questions"
    ? quizQuestions(value)
    : fact(name.charAt(0).toUpperCase() + name.slice(1), Array.isArray(value) ? value.join(", ") || "none" : String(value)));
}

/** A Quiz's questions in order, each with its answers as shown (A-D) and the right one marked. */
function quizQuestions(questions) {
  return h("div", { class: "fact" }, h("dt", {}, "Questions"), h("dd", {},
    h("ol", { class: "quiz-verified" }, questions.map((question) => h("li", {},
      h("span", { class: "mono" }, question.id),
      h("ol", { type: "A" }, question.answers.map((answer, i) => i === question.correct
        ? h("li", { class: "right" }, answer, h("span", { class: "sr-only" }, " (right answer)"))
        : h("li", {}, answer))))))));
}

/** Crash rounds: the point from a revealed round hash, in the browser and on the server;
 * returns {el, fill(hash)}. */
function crashCard() {
  const hash = h("input", { class: "input mono", id: "crash-hash", required: true, pattern: "[0-9a-f]{64}", placeholder: "Round hash (64 hex characters)" });
  const output = h("div", { class: "verify-output", "aria-live": "polite" });
  const check = async (event) => {
    event.preventDefault();
    try {
      const chain = await api("/api/crash/chain");
      const [digest, answer] = await Promise.all([hmacSha256(chain.salt, hash.value.trim()), api("/api/crash/verify", { query: { hash: hash.value.trim() } })]);
      // X = first 52 bits / 2^52; point = max(1, floor(99 / (1 - X)) / 100), in integers.
      const bits = BigInt(`0x${Array.from(digest.slice(0, 7), (b) => b.toString(16).padStart(2, "0")).join("").slice(0, 13)}`);
      const span = 2n ** 52n;
      const x100 = (99n * span) / (span - bits);
      const point = x100 < 100n ? "1.00" : `${x100 / 100n}.${String(x100 % 100n).padStart(2, "0")}`;
      const match = point === answer.point;
      replaceChildren(output,
        h("div", { class: `verdict ${match ? "ok" : "bad"}` }, match ? "✓ Your browser and the server agree" : "✗ The points differ"),
        h("dl", { class: "facts" }, fact("Point (browser)", `${point}×`), fact("Point (server)", `${answer.point}×`),
          fact("In the published chain", answer.valid ? `yes, round ${answer.round_id}` : "no")));
    } catch (error) {
      replaceChildren(output, h("p", { class: "form-error" }, plainWords(error)));
    }
  };
  const el = h("section", { class: "card", "aria-labelledby": "crash-verify-title" },
    h("h2", { id: "crash-verify-title" }, "Verify a Crash round"),
    h("form", { class: "inline-form", onsubmit: check },
      h("div", { class: "field grow" }, h("label", { for: "crash-hash" }, "Round hash"), hash),
      h("button", { class: "btn btn-primary", type: "submit" }, "Check")),
    output);
  return {
    el,
    /** Fill in a round's hash. */
    fill(value) {
      hash.value = value;
      hash.scrollIntoView({ behavior: "smooth", block: "center" });
    },
  };
}
