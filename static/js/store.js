// Application state with change notifications, and the balance version rule.

export class Store {
  constructor(initial) {
    this.state = { ...initial };
    this.listeners = new Map(); // key -> Set of callbacks
  }

  get(key) {
    return this.state[key];
  }

  set(key, value) {
    if (this.state[key] === value) return;
    this.state[key] = value;
    for (const callback of this.listeners.get(key) ?? []) callback(value);
  }

  /** Call `callback(value)` now and on every change of `key`; returns an unsubscribe. */
  watch(key, callback) {
    if (!this.listeners.has(key)) this.listeners.set(key, new Set());
    this.listeners.get(key).add(callback);
    callback(this.state[key]);
    return () => this.listeners.get(key).delete(callback);
  }

  /**
   * Apply a `balance` event: keep the highest version per currency and ignore
   * older ones (a snapshot and a live event may cross). Returns true if applied.
   */
  applyBalance({ currency, balance, version }) {
    const balances = this.state.balances;
    const seen = balances[currency];
    if (seen && seen.version >= version) return false;
    this.set("balances", { ...balances, [currency]: { balance, version } });
    return true;
  }
}
