// The WebSocket client of protocol v1: requests matched by id, events by name,
// reconnection with backoff. A request that was sent but not answered when the
// socket dropped is sent again, unchanged (same idempotency key), once the
// socket is back: the server answers a replayed key with the first result.

import { ApiError } from "./http.js";

const MIN_DELAY_MS = 300;
const MAX_DELAY_MS = 5000;

export class Socket {
  /** `onStatus(status)` gets "connecting", "live" or "reconnecting". */
  constructor(url, onStatus) {
    this.url = url;
    this.onStatus = onStatus;
    this.nextId = 1;
    this.pending = new Map(); // id -> {frame, resolve, reject, resend}
    this.handlers = new Map(); // event name -> Set of callbacks
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
  }

  connect() {
    clearTimeout(this.timer);
    this.onStatus(this.attempt ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (ws !== this.ws) return;
      this.attempt = 0;
      this.onStatus("live");
      this.emit("open", {});
      for (const request of this.pending.values()) ws.send(request.frame);
    });
    ws.addEventListener("message", (message) => this.receive(message.data));
    ws.addEventListener("close", () => {
      if (ws !== this.ws) return;
      this.dropUnresendable();
      this.attempt += 1;
      this.onStatus("reconnecting");
      const delay = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** (this.attempt - 1));
      this.timer = setTimeout(() => this.connect(), delay * (0.8 + Math.random() * 0.4));
    });
  }

  /** Start over on a fresh socket (after signing out: the old one stays signed in). */
  reconnect() {
    const old = this.ws;
    this.ws = null;
    this.dropUnresendable();
    old?.close();
    this.attempt = 0;
    this.connect();
  }

  /**
   * Send an op; resolves with the reply's data, rejects with an ApiError.
   * `resend: false` fails the request instead of sending it again after a drop
   * (for ops that are not idempotent).
   */
  request(op, params = {}, { resend = true } = {}) {
    const id = this.nextId++;
    const frame = JSON.stringify({ op, id, ...params });
    return new Promise((resolve, reject) => {
      this.pending.set(id, { frame, resolve, reject, resend });
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(frame);
    });
  }

  /**
   * Listen to a server event ("balance", "bets.live"...), "open" (connected or
   * reconnected) or "signed-in" (this socket just authenticated); returns an unsubscribe.
   */
  on(event, callback) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(callback);
    return () => this.handlers.get(event).delete(callback);
  }

  emit(event, data) {
    for (const callback of this.handlers.get(event) ?? []) callback(data);
  }

  receive(text) {
    const message = JSON.parse(text);
    if ("event" in message) {
      this.emit(message.event, message.data);
      return;
    }
    const request = this.pending.get(message.re);
    if (!request) return;
    this.pending.delete(message.re);
    if (message.ok) request.resolve(message.data);
    else {
      const { code, message: text, field, data } = message.error;
      request.reject(new ApiError(code, text, field, data));
    }
  }

  dropUnresendable() {
    for (const [id, request] of this.pending) {
      if (request.resend) continue;
      this.pending.delete(id);
      request.reject(new ApiError("DISCONNECTED", "the connection dropped"));
    }
  }
}
