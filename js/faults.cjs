'use strict';
// The driver's side of the fault controls (index.cjs's Broker.delay,
// dropConnection and observe): what only the layer that owns the sockets
// can do. The core's own faults (injected errors, failing appends, the
// record of requests) are the wasm Server's; see wasm/src/node.rs.
//
// - A delay holds the next requests of an API before the broker sees
//   them: the response leaves that much later, and the connection's later
//   requests wait behind it, as behind a slow broker.
// - A drop closes the connection on which the next request of an API
//   arrives, before the broker sees it: a broker that crashed, or a
//   network that failed between request and response.
// Both are the same rules as the native driver's (native/src/serve/faults.rs).

/** `TypeError` naming the option that is wrong. */
function optionError(message) {
  const e = new TypeError(`spate-broker: ${message}`);
  e.code = 'ERR_INVALID_ARG_VALUE';
  return e;
}

/** Checks that `options` is undefined or an object with only `known` keys. */
function checkKeys(what, options, known) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw optionError(`${what} must be an object`);
  }
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw optionError(`${what}: unknown key "${k}" (known: ${known.join(', ')})`);
  }
  return options;
}

/** A count option: an integer >= 0 (or `fallback` when undefined). */
function count(name, v, fallback) {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw optionError(`${name} must be an integer from 0 to 2^32-1, not ${String(v)}`);
  }
  return v;
}

/** The delays and drops armed on one broker. */
class DriverFaults {
  #rules = [];

  /** Holds the next `n` requests of API `key` (all, until cleared, when `n` is undefined) `ms` long. */
  delay(key, ms, n) {
    if (n !== 0) this.#rules.push({ key, left: n, delay: ms });
  }

  /** Closes the connections of the next `n` requests of API `key`. */
  drop(key, n) {
    if (n !== 0) this.#rules.push({ key, left: n, delay: undefined });
  }

  clear() {
    this.#rules = [];
  }

  /** Rules not used up (a delay without a count counts as one). */
  get pending() {
    return this.#rules.reduce((n, r) => n + (r.left ?? 1), 0);
  }

  /**
   * What to do with `frame` (its API key is its first two bytes):
   * `undefined` (hand it over), `'drop'`, or the delay in ms. The first
   * rule for its API counts it.
   */
  verdict(frame) {
    if (this.#rules.length === 0 || frame.length < 2) return undefined;
    const key = frame.readInt16BE(0);
    const r = this.#rules.find((x) => x.key === key);
    if (r === undefined) return undefined;
    if (r.left !== undefined) r.left -= 1;
    this.#rules = this.#rules.filter((x) => x.left !== 0);
    return r.delay === undefined ? 'drop' : r.delay;
  }
}

/**
 * One `broker.observe()`: an async iterator of the requests the broker
 * saw from the moment it was made until `return()` (a `break` out of
 * `for await`) or the broker's `close()`.
 */
class Observation {
  #queue = [];
  #waiting = [];
  #done = false;
  #onEnd;

  constructor(onEnd) {
    this.#onEnd = onEnd;
  }

  /** A request arrived (the broker's driver calls this). */
  push(request) {
    if (this.#done) return;
    const w = this.#waiting.shift();
    if (w) w({ value: request, done: false });
    else this.#queue.push(request);
  }

  /** Ends the iteration: queued requests are still given, then `done`. */
  end() {
    if (this.#done) return;
    this.#done = true;
    for (const w of this.#waiting.splice(0)) w({ value: undefined, done: true });
    this.#onEnd(this);
  }

  next() {
    if (this.#queue.length > 0) return Promise.resolve({ value: this.#queue.shift(), done: false });
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  return() {
    this.#queue = [];
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** The requests seen and not yet taken, without waiting. */
  take() {
    return this.#queue.splice(0);
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

module.exports = { DriverFaults, Observation, optionError, checkKeys, count };
