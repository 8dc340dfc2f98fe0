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
const crypto = require('node:crypto');
const { pathToFileURL } = require('node:url');

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
]);

let loading = null;

/** The wasm module, compiled and instantiated once per process. */
function loadWasm() {
  if (loading === null) {
    loading = (async () => {
      if (!fs.existsSync(path.join(WASM_DIR, 'spate_wasm_bg.wasm'))) {
        throw new Error(`spate-broker: ${WASM_DIR} has no spate_wasm_bg.wasm: run \`npm run build\` in the package`);
      }
      const glue = await import(pathToFileURL(path.join(WASM_DIR, 'spate_wasm.mjs')).href);
      const bytes = await fs.promises.readFile(path.join(WASM_DIR, 'spate_wasm_bg.wasm'));
      await glue.default({ module_or_path: bytes });
      return glue;
    })();
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}

function optionError(message) {
  const e = new TypeError(`spate-broker: ${message}`);
  e.code = 'ERR_INVALID_ARG_VALUE';
  return e;
}

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
  };
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

class Broker {
  #core;
  #server;
  #sockets = new Map();
  #nextConn = OWN_CONN + 1;
  #timer = null;
  #deadline = undefined;
  #own = [];
  #closing = null;
  #port;
  #host;

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
    b.#host = o.host;
    b.#server = net.createServer({ noDelay: true }, (socket) => b.#accept(socket));
    await listen(b.#server, o.host, o.port);
    b.#server.unref();
    b.#port = b.#server.address().port;
    try {
      b.#core = new glue.Server({
        host: o.host,
        port: b.#port,
        autoCreate: o.autoCreate,
        defaultPartitions: o.defaultPartitions,
        groupInitialRebalanceDelayMs: o.groupInitialRebalanceDelayMs,
        seed: crypto.randomInt(2 ** 47),
        now: Date.now(),
      });
      b.#core.connect(OWN_CONN, 'spate-broker', crypto.randomBytes(32), Date.now());
      b.#drain();
      if (o.topics.length > 0) await b.#createTopics(glue, o.topics);
    } catch (e) {
      await b.close();
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

  /** Stops listening, closes every connection and frees the broker. Safe to call again. */
  close() {
    if (this.#closing) return this.#closing;
    this.#closing = new Promise((resolve) => {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      for (const s of this.#sockets.values()) s.destroy();
      this.#sockets.clear();
      for (const p of this.#own.splice(0)) p.reject(new Error('spate-broker: closed'));
      const core = this.#core;
      this.#core = null;
      if (core) core.free();
      if (this.#server && this.#server.listening) this.#server.close(() => resolve());
      else resolve();
    });
    return this.#closing;
  }

  #accept(socket) {
    if (this.#core === null) return socket.destroy();
    socket.unref();
    const id = this.#nextConn++;
    this.#sockets.set(id, socket);
    const framer = new Framer();
    const addr = `${socket.remoteAddress}:${socket.remotePort}`;
    this.#core.connect(id, addr, crypto.randomBytes(32), Date.now());
    socket.on('data', (chunk) => {
      if (this.#core === null || socket.spateClosing) return;
      let frames;
      try {
        frames = framer.push(chunk);
      } catch {
        // As Kafka: a size prefix out of range closes the connection.
        socket.spateClosing = true;
        socket.destroy();
        return;
      }
      // Fault injection (issue 16) belongs to core (core/src/broker): when
      // it lands, `Server` forwards its calls and nothing here changes.
      for (const f of frames) this.#core.request(id, f, Date.now());
      this.#drain();
    });
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => {
      this.#sockets.delete(id);
      if (this.#core === null) return;
      this.#core.disconnect(id, Date.now());
      this.#drain();
    });
  }

  /** Writes every output the broker has, then re-arms the timer. */
  #drain() {
    const core = this.#core;
    if (core === null) return;
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
    const at = core.pollTimeout();
    if (at === this.#deadline && this.#timer) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#deadline = at;
    if (at === undefined) return;
    const delay = Math.min(Math.max(0, at - Date.now()), MAX_DELAY);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#core === null) return;
      this.#core.handleTimeout(Date.now());
      this.#drain();
    }, delay);
    this.#timer.unref();
  }

  /** One request on the driver's own connection; resolves with the response frame. */
  #ask(frame) {
    return new Promise((resolve, reject) => {
      this.#own.push({ resolve, reject });
      this.#core.request(OWN_CONN, frame.subarray(4), Date.now());
      this.#drain();
    });
  }

  async #createTopics(glue, topics) {
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
    const failed = response.body.topics.filter((t) => t.error_code !== 0);
    if (failed.length > 0) {
      const why = failed.map((t) => `"${t.name}": ${t.error_message ?? `error ${t.error_code}`}`).join('; ');
      throw optionError(`cannot create topics: ${why}`);
    }
  }
}

module.exports = { Broker };
module.exports.default = module.exports;
