// The live Crash round as the client knows it, fed by the server's broadcasts:
// crash.state (phase changes, players), crash.tick, crash.bet / crash.cashout
// (player updates) and crash.crashed. Between ticks the multiplier is
// interpolated from elapsed time with the server's growth formula.

const GROWTH_PER_MS = 0.00006;
const MAX_EXTRAPOLATION_MS = 400;
const HISTORY_LENGTH = 30;

/** The multiplier shown `elapsedMs` after the start: floor(100 e^(0.00006 t)) / 100. */
export function multiplierAt(elapsedMs) {
  return Math.floor(100 * Math.exp(GROWTH_PER_MS * elapsedMs)) / 100;
}

export class CrashRound {
  constructor() {
    this.roundId = null;
    this.phase = null; // "betting" | "running" | "crashed"
    this.bettingEnds = 0;
    this.clockOffset = 0; // server time - local time, ms
    this.tick = null; // {elapsed, multiplier, at: performance.now()}
    this.crash = null; // {point, hash, elapsed, voided}
    this.players = new Map(); // player's public name -> public bet
    this.history = []; // newest first: {round_id, point, hash, voided}
    this.listeners = new Set();
  }

  /** Call `callback(kind)` on every change; returns an unsubscribe. */
  subscribe(callback) {
    this.listeners.add(callback);
    return () => this.listeners.delete(callback);
  }

  notify(kind) {
    for (const callback of this.listeners) callback(kind);
  }

  applyState(data) {
    if (data.server_time) this.clockOffset = data.server_time - Date.now();
    if (data.round_id !== this.roundId) {
      this.crash = null;
      this.tick = null;
    }
    this.roundId = data.round_id;
    this.phase = data.phase;
    this.bettingEnds = data.betting_ends ?? 0;
    if (data.elapsed_ms !== null && data.elapsed_ms !== undefined) {
      this.tick = { elapsed: data.elapsed_ms, multiplier: data.multiplier, at: performance.now() };
    }
    if (data.phase === "crashed") {
      this.crash = { point: data.point, hash: data.hash, elapsed: data.elapsed_ms ?? 0, voided: data.voided };
    }
    this.players = new Map((data.players ?? []).map((player) => [player.name, player]));
    this.notify("state");
  }

  applyTick(data) {
    if (data.round_id !== this.roundId) return;
    this.phase = "running";
    this.tick = { elapsed: data.elapsed_ms, multiplier: data.multiplier, at: performance.now() };
    this.notify("tick");
  }

  applyPlayers(data) {
    if (data.round_id !== this.roundId) return;
    for (const player of data.players) this.players.set(player.name, player);
    this.notify("players");
  }

  applyCrashed(data) {
    if (data.round_id !== this.roundId) return;
    this.phase = "crashed";
    this.crash = { point: data.point, hash: data.hash, elapsed: data.elapsed_ms, voided: data.voided };
    for (const [name, player] of this.players) {
      if (player.status === "open") this.players.set(name, { ...player, status: data.voided ? "void" : "lost" });
    }
    this.pushHistory({ round_id: data.round_id, point: data.point, hash: data.hash, voided: data.voided });
    this.notify("crashed");
  }

  setHistory(items) {
    this.history = items.slice(0, HISTORY_LENGTH);
    this.notify("history");
  }

  pushHistory(entry) {
    if (this.history[0]?.round_id === entry.round_id) return;
    this.history = [entry, ...this.history].slice(0, HISTORY_LENGTH);
  }

  /** Elapsed ms of the running round now, interpolated from the last tick. */
  elapsedNow() {
    if (!this.tick) return 0;
    if (this.phase === "crashed") return this.crash?.elapsed || this.tick.elapsed;
    const since = Math.min(performance.now() - this.tick.at, MAX_EXTRAPOLATION_MS);
    return this.tick.elapsed + Math.max(0, since);
  }

  /** The multiplier to display now (a number; the crash point once crashed). */
  multiplierNow() {
    if (this.phase === "crashed" && this.crash) return Number(this.crash.point);
    if (this.phase !== "running") return 1;
    return Math.max(Number(this.tick?.multiplier ?? 1), multiplierAt(this.elapsedNow()));
  }

  /** Ms left to bet, by the server's clock. */
  bettingLeft() {
    return Math.max(0, this.bettingEnds - (Date.now() + this.clockOffset));
  }
}
