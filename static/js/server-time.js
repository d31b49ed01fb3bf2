// The server's clock, estimated from a `ping`: its pong time against the middle
// of the round trip (good to a few milliseconds on a normal connection).

export class ServerClock {
  constructor(socket) {
    this.socket = socket;
    this.offset = null; // server time - local time, in ms; null until measured
    this.trip = Infinity;
  }

  /** Measure (again, a few pings); keeps the sample with the shortest round trip. */
  async sync(samples = 3) {
    for (let i = 0; i < samples; i += 1) {
      // A ping queued while disconnected would time the reconnection, not the network.
      if (this.socket.ws?.readyState !== WebSocket.OPEN) break;
      const sent = Date.now();
      const { pong } = await this.socket.request("ping", {}, { resend: false });
      const received = Date.now();
      if (received - sent <= this.trip) {
        this.trip = received - sent;
        this.offset = pong - (sent + received) / 2;
      }
    }
    return this.offset;
  }

  /** The server's time now, or null before a measurement. */
  now() {
    return this.offset === null ? null : Date.now() + this.offset;
  }
}
