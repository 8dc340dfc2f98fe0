'use strict';
// spate-broker: a Kafka-compatible broker inside the Node process.
//
// spate-core runs as WebAssembly (the playground's build, wasm/src/node.rs's
// `Server`); this file is its driver on node:net and timers. The driver loop
// is the one every Spate driver runs (core/src/broker/mod.rs): after every
// input (a connection, a frame, a close, a timer) drain `pollOutput`, then
// arm one timer for `pollTimeout`.
//
// Everything the process holds for a broker is unref'd (the listening
// socket, the accepted sockets, the timer), so a test that forgets
// `close()` still exits.

const net = require('node:net');
const fs = require('node:fs');
const path = require('node:path');
const { DriverFaults, Observation, optionError, checkKeys, count } = require('./faults.cjs');
const { randomBytes, randomSeed } = require('./random.cjs');

const WASM_DIR = path.join(__dirname, 'wasm');
// Kafka's socket.request.max.bytes: a larger size prefix closes the connection.
const MAX_REQUEST = 104857600;
// Node fires a timeout above 2^31-1 ms at once.
const MAX_DELAY = 2147483647;
// The id of the driver's own connection (topics created at start).
const OWN_CONN = 0;

const OPTIONS = new Set([
  'port',
  'host',
  'topics',
  'autoCreate',
  'defaultPartitions',
  'groupInitialRebalanceDelayMs',
  'virtualClock',
  'dir',
  'segmentBytes',
]);
// CreateTopics' TOPIC_ALREADY_EXISTS: a topic of `topics` kept in `dir`.
const TOPIC_ALREADY_EXISTS = 36;

let loading = null;

/** An ApiVersions v0 request, size prefix removed: the warm-up's request. */
const WARM_UP = Buffer.from([0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff]);

/**
 * The wasm module, compiled and instantiated once per process, starting
 * when this file is loaded. V8 compiles a wasm function the first time it
 * runs, and a request's path runs through the codec's largest functions:
 * one ApiVersions through a throwaway Server compiles them here, so the
 * first client of the first broker does not wait for it.
 */
function loadWasm() {
  if (loading === null) {
    loading = (async () => {
      const file = path.join(WASM_DIR, 'spate_wasm_bg.wasm');
      const missing = (name) => new Error(`spate-broker: ${WASM_DIR} has no ${name}: run \`npm run build\` in the package`);
      const [glue, bytes] = await Promise.all([
        // Required, not import()ed: see scripts/cjs-glue.cjs.
        Promise.resolve()
          .then(() => require(path.join(WASM_DIR, 'spate_wasm.cjs')))
          .catch((e) => {
            throw e.code === 'MODULE_NOT_FOUND' ? missing('spate_wasm.cjs') : e;
          }),
        readWasm(file).catch((e) => {
          throw e.code === 'ENOENT' ? missing('spate_wasm_bg.wasm') : e;
        }),
      ]);
      // Compiling off the main thread, while the importing process goes on.
      // V8 keeps its own copy of the bytes: ours go back to the system now,
      // not at some later garbage collection (none had run by the first
      // broker's first answer: 1.2 MB of its resident memory).
      const module = await WebAssembly.compile(bytes).catch((e) => {
        // An engine that refuses a resizable buffer gets a plain copy.
        if (!(e instanceof TypeError) || !bytes.buffer.resizable) throw e;
        return WebAssembly.compile(bytes.slice());
      });
      if (bytes.buffer.resizable) bytes.buffer.resize(0);
      glue.initSync({ module });
      const now = Date.now();
      const warm = new glue.Server({ host: '127.0.0.1', port: 1, seed: 0, now });
      try {
        warm.connect(OWN_CONN, 'warm-up', new Uint8Array(32), now);
        warm.request(OWN_CONN, WARM_UP, now);
        while (warm.pollOutput() !== undefined);
      } finally {
        warm.free();
      }
      return glue;
    })();
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}

/**
 * The `.wasm` file's bytes, in a resizable ArrayBuffer where Node has them
 * (20 and later), so that `resize(0)` can give the memory back at once.
 * Read with fs's callbacks: `fs.promises` loads a module of its own, 1 MB
 * of resident memory in a process that has not used it yet.
 */
function readWasm(file) {
  const call = (f, ...args) => new Promise((resolve, reject) => f(...args, (e, r) => (e ? reject(e) : resolve(r))));
  return (async () => {
    const fd = await call(fs.open, file, 'r');
    try {
      const { size } = await call(fs.fstat, fd);
      const bytes = new Uint8Array(typeof ArrayBuffer.prototype.resize === 'function' ? new ArrayBuffer(size, { maxByteLength: size }) : size);
      for (let at = 0; at < size; ) {
        const read = await call(fs.read, fd, bytes, at, size - at, at);
        if (read === 0) throw new Error(`spate-broker: ${file} shrank while read`);
        at += read;
      }
      return bytes;
    } finally {
      await call(fs.close, fd);
    }
  })();
}

// Loading begins with the import; a failure is reported by Broker.start().
loadWasm().catch(() => {});

/** Checks `options` and fills in the defaults. */
function readOptions(options) {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw optionError('options must be an object');
  }
  for (const k of Object.keys(options)) {
    if (!OPTIONS.has(k)) {
      throw optionError(`unknown option "${k}" (known: ${[...OPTIONS].join(', ')})`);
    }
  }
  const o = {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    topics: options.topics ?? [],
    autoCreate: options.autoCreate ?? true,
    defaultPartitions: options.defaultPartitions ?? 1,
    // Kafka's test harnesses set group.initial.rebalance.delay.ms to 0, so
    // that a group's first member does not wait 3 s for others.
    groupInitialRebalanceDelayMs: options.groupInitialRebalanceDelayMs ?? 0,
    virtualClock: options.virtualClock ?? false,
    dir: options.dir,
    // Kafka's log.segment.bytes: 1 GiB.
    segmentBytes: options.segmentBytes ?? 1073741824,
  };
  if (!Number.isInteger(o.segmentBytes) || o.segmentBytes < 14 || o.segmentBytes > 2147483647) {
    throw optionError(`segmentBytes must be an integer from 14 to 2^31-1, not ${String(options.segmentBytes)}`);
  }
  if (o.dir !== undefined && (typeof o.dir !== 'string' || o.dir === '')) {
    throw optionError(`dir must be a directory's path, not ${String(options.dir)}`);
  }
  if (o.virtualClock === true) o.virtualClock = Date.now();
  if (o.virtualClock !== false && (!Number.isSafeInteger(o.virtualClock) || o.virtualClock < 0)) {
    throw optionError(`virtualClock must be true, false or a time in ms since the epoch, not ${String(options.virtualClock)}`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    throw optionError(`port must be an integer from 0 to 65535, not ${String(options.port)}`);
  }
  if (typeof o.host !== 'string' || net.isIP(o.host) === 0) {
    throw optionError(`host must be an IP address, not ${String(options.host)}`);
  }
  if (typeof o.autoCreate !== 'boolean') {
    throw optionError(`autoCreate must be a boolean, not ${String(options.autoCreate)}`);
  }
  if (!Number.isInteger(o.defaultPartitions) || o.defaultPartitions < 1) {
    throw optionError(`defaultPartitions must be a positive integer, not ${String(options.defaultPartitions)}`);
  }
  const delay = o.groupInitialRebalanceDelayMs;
  if (!Number.isInteger(delay) || delay < 0) {
    throw optionError(`groupInitialRebalanceDelayMs must be an integer >= 0, not ${String(delay)}`);
  }
  if (!Array.isArray(o.topics)) throw optionError('topics must be an array');
  o.topics = o.topics.map((t, i) => {
    if (typeof t === 'string') t = { name: t };
    if (t === null || typeof t !== 'object') throw optionError(`topics[${i}] must be a name or {name, partitions}`);
    for (const k of Object.keys(t)) {
      if (!['name', 'partitions', 'configs'].includes(k)) {
        throw optionError(`topics[${i}]: unknown key "${k}" (known: name, partitions, configs)`);
      }
    }
    if (typeof t.name !== 'string' || t.name === '') throw optionError(`topics[${i}].name must be a non-empty string`);
    const partitions = t.partitions ?? o.defaultPartitions;
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw optionError(`topics[${i}].partitions must be a positive integer, not ${String(t.partitions)}`);
    }
    const configs = t.configs ?? {};
    if (configs === null || typeof configs !== 'object') throw optionError(`topics[${i}].configs must be an object`);
    for (const [k, v] of Object.entries(configs)) {
      if (typeof v !== 'string') throw optionError(`topics[${i}].configs.${k} must be a string`);
    }
    return { name: t.name, partitions, configs };
  });
  return o;
}

/** Listens on host:port; rejects with a clear error when it cannot. */
function listen(server, host, port) {
  return new Promise((resolve, reject) => {
    const onError = (err) => {
      server.removeListener('listening', onListening);
      let message = `spate-broker: cannot listen on ${host}:${port}: ${err.message}`;
      if (err.code === 'EADDRINUSE') message = `spate-broker: port ${port} on ${host} is already in use`;
      if (err.code === 'EACCES') message = `spate-broker: no permission to listen on ${host}:${port}`;
      const e = new Error(message, { cause: err });
      e.code = err.code;
      reject(e);
    };
    const onListening = () => {
      server.removeListener('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true });
  });
}

/** Gathers bytes into size-prefixed frames (several per read, or one over many). */
class Framer {
  constructor() {
    this.chunks = [];
    this.length = 0;
  }

  /** Adds `chunk`; returns the complete frames, size prefix removed, or throws on a bad size. */
  push(chunk) {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const frames = [];
    for (;;) {
      if (this.length < 4) break;
      const head = this.chunks[0].length >= 4 ? this.chunks[0] : this.flat();
      const size = head.readInt32BE(0);
      if (size < 0 || size > MAX_REQUEST) throw new Error(`frame size ${size} is out of range`);
      if (this.length < 4 + size) break;
      const buf = this.chunks[0].length >= 4 + size ? this.chunks[0] : this.flat();
      frames.push(buf.subarray(4, 4 + size));
      const rest = buf.subarray(4 + size);
      this.chunks[0] = rest;
      this.length -= 4 + size;
      if (rest.length === 0) this.chunks.shift();
    }
    return frames;
  }

  flat() {
    const b = Buffer.concat(this.chunks, this.length);
    this.chunks = [b];
    return b;
  }
}

/**
 * `v` with every BigInt that a Number holds exactly made a Number: the
 * wasm gives each 64-bit integer of a decoded request as a BigInt.
 */
function smallInts(v) {
  if (typeof v === 'bigint') return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v;
  if (Array.isArray(v)) return v.map(smallInts);
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) v[k] = smallInts(v[k]);
  }
  return v;
}
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** API names to keys, from the wasm's list of APIs (built once). */
let apiKeys = null;

/** Resolves `api` (a name such as "Produce", or a key) for `method`. */
function apiKey(glue, method, api) {
  if (apiKeys === null) apiKeys = new Map(glue.apis().map((a) => [a.name, a.key]));
  if (typeof api === 'string' && apiKeys.has(api)) return apiKeys.get(api);
  if (Number.isInteger(api) && [...apiKeys.values()].includes(api)) return api;
  throw optionError(`${method}: api must be a Kafka API's name ("Produce") or key, not ${JSON.stringify(api)}`);
}

class Broker {
  #core;
  #glue;
  #server;
  #sockets = new Map();
  #nextConn = OWN_CONN + 1;
  #timer = null;
  #deadline = undefined;
  #own = [];
  #closing = null;
  #port;
  #host;
  #faults = new DriverFaults();
  #observers = new Set();
  // The virtual time in ms since the epoch; undefined: the wall clock.
  #clock = undefined;
  // The log directory (dir.cjs), or null in memory.
  #store = null;
  // Why the broker stopped on its own (a write to `dir` failed).
  #failure = null;

  constructor(key) {
    if (key !== Broker.#key) throw new TypeError('spate-broker: use `await Broker.start(options)`');
  }

  static #key = Symbol('Broker');

  /**
   * Starts a broker listening on `options.host` (127.0.0.1) and
   * `options.port` (0: any free port), with `options.topics` created.
   */
  static async start(options) {
    const o = readOptions(options);
    const glue = await loadWasm();
    const b = new Broker(Broker.#key);
    b.#glue = glue;
    b.#host = o.host;
    if (o.virtualClock !== false) b.#clock = o.virtualClock;
    // dir.cjs is loaded only by a broker with `dir` (0.1 MB less for others).
    const opened = o.dir === undefined ? null : require('./dir.cjs').LogDir.open(o.dir, glue, o.segmentBytes);
    b.#store = opened && opened.store;
    b.#server = net.createServer({ noDelay: true }, (socket) => b.#accept(socket));
    try {
      await listen(b.#server, o.host, o.port);
    } catch (e) {
      if (opened) opened.store.abandon();
      throw e;
    }
    b.#server.unref();
    b.#port = b.#server.address().port;
    try {
      const where = opened ? { clusterId: opened.clusterId, logDir: opened.logDir } : {};
      b.#core = new glue.Server({
        host: o.host,
        port: b.#port,
        autoCreate: o.autoCreate,
        defaultPartitions: o.defaultPartitions,
        groupInitialRebalanceDelayMs: o.groupInitialRebalanceDelayMs,
        seed: randomSeed(),
        now: b.#now(),
        ...where,
      }, opened ? opened.logs : undefined);
      b.#core.connect(OWN_CONN, 'spate-broker', randomBytes(32), b.#now());
      b.#drain();
      if (b.#failure) throw b.#failure;
      if (o.topics.length > 0) await b.#createTopics(glue, o.topics, opened !== null);
    } catch (e) {
      await b.close().catch(() => {});
      throw e;
    }
    return b;
  }

  /** "127.0.0.1:PORT": what a client's bootstrap servers should name. */
  get bootstrap() {
    return `${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.#port}`;
  }

  /** The port the broker listens on. */
  get port() {
    return this.#port;
  }

  /** The broker's time in ms since the epoch: the virtual clock's, or the wall clock's. */
  get now() {
    return this.#now();
  }

  /**
   * Stops listening, closes every connection and frees the broker; with
   * `dir`, closes the directory cleanly. Safe to call again. Rejects with
   * the error that stopped the broker, when a write to `dir` failed.
   */
  close() {
    if (this.#closing) return this.#closing;
    this.#closing = new Promise((resolve, reject) => {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      for (const s of this.#sockets.values()) s.destroy();
      this.#sockets.clear();
      for (const p of this.#own.splice(0)) p.reject(new Error('spate-broker: closed'));
      for (const o of [...this.#observers]) o.end();
      this.#faults.clear();
      const core = this.#core;
      this.#core = null;
      if (core) core.free();
      const store = this.#store;
      this.#store = null;
      const done = () => {
        try {
          if (store) store.close();
        } catch (e) {
          store.abandon();
          return reject(new Error(`spate-broker: closing the directory failed: ${e.message}`, { cause: e }));
        }
        if (this.#failure) reject(this.#failure);
        else resolve();
      };
      if (this.#server && this.#server.listening) this.#server.close(done);
      else done();
    });
    return this.#closing;
  }

  /**
   * A write to the directory failed: as a Kafka broker whose only log
   * directory fails, this one stops. The answers of the pass are not sent
   * (their records may not be on disk); close() rejects with the error.
   */
  #fail(err) {
    this.#failure = new Error(`spate-broker: writing to the directory failed, the broker stopped: ${err.message}`, { cause: err });
    if (err.code) this.#failure.code = err.code;
    const store = this.#store;
    this.#store = null;
    if (store) store.abandon();
    for (const s of this.#sockets.values()) s.destroy();
    this.#sockets.clear();
    for (const p of this.#own.splice(0)) p.reject(this.#failure);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const core = this.#core;
    this.#core = null;
    if (core) core.free();
    if (this.#server && this.#server.listening) this.#server.close();
  }

  // ------------------------------------------------------------ faults

  /** The core, or an Error when closed. */
  #live(method) {
    if (this.#core === null || this.#core === undefined) throw new Error(`spate-broker: ${method}: the broker is closed`);
    return this.#core;
  }

  /**
   * Answers the next `count` (1) requests of `api` (naming `topic`, and
   * `partition` of it, when given) with `error`, in a real response of
   * that API and version; they are not carried out.
   */
  injectError(fault) {
    const core = this.#live('injectError');
    const f = checkKeys('injectError', fault, ['api', 'error', 'count', 'topic', 'partition']);
    if (fault === undefined) throw optionError('injectError needs {api, error}');
    const api = apiKey(this.#glue, 'injectError', f.api);
    if (!(typeof f.error === 'string' || Number.isInteger(f.error))) {
      throw optionError(`injectError: error must be a Kafka error's name ("NOT_LEADER_OR_FOLLOWER") or code, not ${JSON.stringify(f.error)}`);
    }
    const n = count('injectError: count', f.count, 1);
    if (f.topic !== undefined && typeof f.topic !== 'string') throw optionError('injectError: topic must be a string');
    if (f.partition !== undefined && (!Number.isInteger(f.partition) || f.partition < 0)) {
      throw optionError(`injectError: partition must be an integer >= 0, not ${String(f.partition)}`);
    }
    try {
      core.injectError(JSON.stringify({ api, error: f.error, count: n, topic: f.topic, partition: f.partition }));
    } catch (e) {
      // The core's refusal: an unknown error code, an API with no error
      // answer, a filter the API cannot match.
      throw optionError(`injectError: ${e.message}`);
    }
  }

  /** Fails the next `count` produce appends (to `options.topic` only, when given) with KAFKA_STORAGE_ERROR. */
  failAppends(n, options) {
    const core = this.#live('failAppends');
    n = count('failAppends: count', n, undefined);
    if (n === undefined) throw optionError('failAppends: count must be an integer from 0 to 2^32-1, not undefined');
    const o = checkKeys('failAppends options', options, ['topic']);
    if (o.topic !== undefined && typeof o.topic !== 'string') throw optionError('failAppends: topic must be a string');
    core.failAppends(n, o.topic);
  }

  /**
   * Holds the next `options.count` requests of `api` (every one until
   * `clearFaults()` when no count) `ms` long before the broker sees them:
   * their responses come that much later, and later requests on the same
   * connection wait behind them. Wall-clock time, even with a virtual clock.
   */
  delay(api, ms, options) {
    this.#live('delay');
    const key = apiKey(this.#glue, 'delay', api);
    if (!Number.isFinite(ms) || ms < 0 || ms > MAX_DELAY) throw optionError(`delay: ms must be a number from 0 to 2^31-1, not ${String(ms)}`);
    const o = checkKeys('delay options', options, ['count']);
    this.#faults.delay(key, ms, count('delay: count', o.count, undefined));
  }

  /** Closes, unanswered, the connection of each of the next `options.count` (1) requests of `api`. */
  dropConnection(api, options) {
    this.#live('dropConnection');
    const key = apiKey(this.#glue, 'dropConnection', api);
    const o = checkKeys('dropConnection options', options, ['count']);
    this.#faults.drop(key, count('dropConnection: count', o.count, 1));
  }

  /** Faults armed and not yet used up: injected errors, failing appends, delays and drops. */
  get pendingFaults() {
    return this.#core ? this.#core.pendingFaults() + this.#faults.pending : 0;
  }

  /** Disarms every fault. */
  clearFaults() {
    this.#live('clearFaults').clearFaults();
    this.#faults.clear();
  }

  /**
   * Every request the broker receives from now on, decoded
   * (`{api, version, header, body, conn}`), as an async iterator; it ends
   * on `return()` (a `break`) or when the broker closes.
   */
  observe() {
    const core = this.#live('observe');
    const o = new Observation((ended) => {
      this.#observers.delete(ended);
      if (this.#observers.size === 0 && this.#core) this.#core.observe(false);
    });
    if (this.#observers.size === 0) core.observe(true);
    this.#observers.add(o);
    return o;
  }

  /**
   * Moves the virtual clock `ms` forward and runs what is then due
   * (session timeouts, long polls, rebalance delays). Resolves once their
   * answers are written. A TypeError without `virtualClock`.
   */
  async advance(ms) {
    this.#live('advance');
    if (this.#clock === undefined) throw optionError('advance: the broker runs on the wall clock (start it with virtualClock: true)');
    if (!Number.isSafeInteger(ms) || ms < 0) throw optionError(`advance: ms must be an integer >= 0, not ${String(ms)}`);
    this.#clock += ms;
    this.#core.handleTimeout(this.#clock);
    this.#drain();
  }

  // ------------------------------------------------------------ driver

  #now() {
    return this.#clock ?? Date.now();
  }

  #accept(socket) {
    if (this.#core === null) return socket.destroy();
    socket.unref();
    const id = this.#nextConn++;
    this.#sockets.set(id, socket);
    const framer = new Framer();
    // Frames not yet handed to the broker, and whether the first is held.
    const conn = { id, socket, queue: [], held: false, closed: false };
    const addr = `${socket.remoteAddress}:${socket.remotePort}`;
    this.#core.connect(id, addr, randomBytes(32), this.#now());
    socket.on('data', (chunk) => {
      if (this.#core === null || socket.spateClosing) return;
      try {
        conn.queue.push(...framer.push(chunk));
      } catch {
        // As Kafka: a size prefix out of range closes the connection.
        socket.spateClosing = true;
        socket.destroy();
        return;
      }
      this.#feed(conn);
    });
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => {
      this.#sockets.delete(id);
      conn.closed = true;
      conn.queue = [];
      if (this.#core === null) return;
      this.#core.disconnect(id, this.#now());
      this.#drain();
    });
  }

  /** Hands `conn`'s queued frames to the broker, in order, as the delays and drops say. */
  #feed(conn) {
    let fed = false;
    while (conn.queue.length > 0 && !conn.held && this.#core !== null && !conn.socket.spateClosing) {
      const verdict = this.#faults.verdict(conn.queue[0]);
      if (verdict === 'drop') {
        conn.queue = [];
        conn.socket.spateClosing = true;
        conn.socket.destroy();
        break;
      }
      if (verdict !== undefined) {
        conn.held = true;
        setTimeout(() => {
          conn.held = false;
          // The peer may have gone meanwhile: the broker has forgotten it.
          if (this.#core === null || conn.closed || conn.socket.spateClosing) return;
          this.#core.request(conn.id, conn.queue.shift(), this.#now());
          this.#drain();
          this.#feed(conn);
        }, verdict).unref();
        break;
      }
      this.#core.request(conn.id, conn.queue.shift(), this.#now());
      fed = true;
    }
    if (fed) this.#drain();
  }

  /** Writes every output the broker has, then re-arms the timer. */
  #drain() {
    const core = this.#core;
    if (core === null) return;
    // What the pass changed is on disk before any of its answers leaves.
    if (this.#store) {
      const journal = core.takeJournal();
      try {
        if (journal !== undefined) this.#store.apply(journal);
      } catch (e) {
        this.#fail(e);
        return;
      }
    }
    if (this.#observers.size > 0) {
      for (let r = core.pollObserved(); r !== undefined; r = core.pollObserved()) {
        r = smallInts(r);
        for (const o of this.#observers) o.push(r);
      }
    }
    for (let out = core.pollOutput(); out !== undefined; out = core.pollOutput()) {
      if (out.conn === OWN_CONN) {
        const p = this.#own.shift();
        if (p) (out.frame ? p.resolve(out.frame) : p.reject(new Error(`spate-broker: ${out.close}`)));
        continue;
      }
      const s = this.#sockets.get(out.conn);
      if (s === undefined || s.spateClosing) continue;
      if (out.frame) {
        s.write(out.frame);
      } else {
        // The broker dropped the connection (a frame it cannot decode):
        // later bytes must not reach it as a new connection.
        s.spateClosing = true;
        s.end();
      }
    }
    let at = core.pollTimeout();
    // A virtual clock's deadlines come when the test advances it; one
    // already due runs at once.
    if (this.#clock !== undefined && at !== undefined && at > this.#clock) at = undefined;
    if (at === this.#deadline && this.#timer) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#deadline = at;
    if (at === undefined) return;
    const delay = Math.min(Math.max(0, at - this.#now()), MAX_DELAY);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#core === null) return;
      this.#core.handleTimeout(this.#now());
      this.#drain();
    }, delay);
    this.#timer.unref();
  }

  /** One request on the driver's own connection; resolves with the response frame. */
  #ask(frame) {
    return new Promise((resolve, reject) => {
      this.#own.push({ resolve, reject });
      this.#core.request(OWN_CONN, frame.subarray(4), this.#now());
      this.#drain();
    });
  }

  async #createTopics(glue, topics, kept) {
    const version = 4;
    const request = {
      api: 'CreateTopics',
      version,
      side: 'request',
      header: { request_api_key: 19, request_api_version: version, correlation_id: 1, client_id: 'spate-broker' },
      body: {
        topics: topics.map((t) => ({
          name: t.name,
          num_partitions: t.partitions,
          replication_factor: 1,
          assignments: [],
          configs: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
        })),
        timeout_ms: 30000,
        validate_only: false,
      },
    };
    const answer = await this.#ask(glue.fromJson(JSON.stringify(request)));
    const response = JSON.parse(glue.toJson(answer, { direction: 'response', apiKey: 19, apiVersion: version }));
    const failed = response.body.topics.filter((t) => t.error_code !== 0 && !(kept && t.error_code === TOPIC_ALREADY_EXISTS));
    if (failed.length > 0) {
      const why = failed.map((t) => `"${t.name}": ${t.error_message ?? `error ${t.error_code}`}`).join('; ');
      throw optionError(`cannot create topics: ${why}`);
    }
  }
}

module.exports = { Broker };
module.exports.default = module.exports;
