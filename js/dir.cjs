'use strict';
// A log directory for spate-broker's `dir` option, in Kafka's layout as
// `spate serve --data-dir` keeps it (native/src/storage/mod.rs), so either
// broker opens what the other wrote:
//
//   meta.properties                    node.id=1, cluster.id, directory.id, version=1
//   log-start-offset-checkpoint        written (atomically) before segments below a new start go
//   recovery-point-offset-checkpoint   every log's end, written on close
//   .kafka_cleanshutdown               present only while closed cleanly
//   .lock                              the pid of the Node process holding the directory
//   <topic>-<partition>/partition.metadata   the topic id
//   <topic>-<partition>/<base>.log           record batches, byte for byte
//   <topic>-<partition>/<base>.index, .timeindex   sparse indexes of a closed segment
//
// The broker keeps every log in the wasm memory (wasm/src/node.rs); this
// file writes its journal of changes after each input, fsyncs the log
// files written, and only then are the answers sent (`spate serve`'s
// default, `--fsync always`). A segment's indexes are written when it is
// rolled and, for the active one, on close with the clean shutdown marker:
// without the marker (a crash) `spate serve` checks every batch of the
// active segments and rebuilds their indexes, and so does this file at
// start (CRC included), cutting each log at its first torn batch.

const fs = require('node:fs');
const path = require('node:path');
const { randomBytes } = require('./random.cjs');

// log.index.interval.bytes, Kafka's default (log.segment.bytes is the
// `segmentBytes` option).
const INTERVAL = 4096;
const CLEAN = '.kafka_cleanshutdown';
const LOG_START = 'log-start-offset-checkpoint';
const RECOVERY = 'recovery-point-offset-checkpoint';
const LOCK = '.lock';
const NODE_ID = 1;

/** Real paths of the directories brokers of this process hold. */
const held = new Set();

function dirError(message, cause) {
  const e = new Error(`spate-broker: ${message}`, cause ? { cause } : undefined);
  if (cause && cause.code) e.code = cause.code;
  return e;
}

/** `00000000000000000042.log`: Kafka's 20-digit names. */
const fileName = (base, ext) => `${String(base).padStart(20, '0')}.${ext}`;

/** Kafka's printed uuid: 16 random bytes (version 4), URL-safe base64. */
function uuid() {
  for (;;) {
    const b = randomBytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const s = b.toString('base64url');
    if (!s.startsWith('-')) return s;
  }
}

/** Writes `bytes` to `file` and forces it to disk. */
function writeSynced(file, bytes, flag = 'w') {
  const fd = fs.openSync(file, flag);
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function syncDir(dir) {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A crash leaves the old file or the new one: temporary file, fsync, rename, fsync of the directory. */
function writeAtomic(file, text) {
  writeSynced(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
  syncDir(path.dirname(file));
}

function readOpt(file) {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if (e.code === 'ENOENT') return null;
    throw e;
  }
}

/** An offset checkpoint file: `0`, the entry count, `topic partition offset` lines. */
function readCheckpoint(file) {
  const text = readOpt(file);
  const out = new Map();
  if (text === null) return out;
  const lines = text.toString('utf8').split('\n').filter((l) => l.trim() !== '');
  if (lines[0]?.trim() !== '0' || Number(lines[1]) !== lines.length - 2) {
    throw dirError(`${file} is not an offset checkpoint file`);
  }
  for (const l of lines.slice(2)) {
    const [topic, partition, offset] = l.trim().split(/\s+/);
    if (offset === undefined || !/^\d+$/.test(partition) || !/^-?\d+$/.test(offset)) throw dirError(`${file}: malformed line "${l}"`);
    out.set(`${topic}-${partition}`, Number(offset));
  }
  return out;
}

function encodeCheckpoint(entries) {
  return `0\n${entries.length}\n${entries.map(([t, p, o]) => `${t} ${p} ${o}\n`).join('')}`;
}

/** `<topic>-<partition>` (the partition after the last `-`, written canonically), or null. */
function parseLogDirName(name) {
  const at = name.lastIndexOf('-');
  if (at <= 0 || !/^(0|[1-9]\d{0,9})$/.test(name.slice(at + 1))) return null;
  const partition = Number(name.slice(at + 1));
  return partition <= 2147483647 ? { topic: name.slice(0, at), partition } : null;
}

/** The headers of the whole batches in `buf`: `{pos, last, maxTs, size}`. */
function* headers(buf) {
  for (let pos = 0; pos + 17 <= buf.length;) {
    const base = Number(buf.readBigInt64BE(pos));
    const size = 12 + buf.readInt32BE(pos + 8);
    const v2 = buf[pos + 16] === 2;
    yield {
      pos,
      base,
      last: v2 ? base + buf.readInt32BE(pos + 23) : base,
      maxTs: v2 ? Number(buf.readBigInt64BE(pos + 35)) : -1,
      size,
    };
    pos += size;
  }
}

/** One segment: `<base>.log` and what its sparse indexes hold (native/src/storage/index.rs's rules). */
class Segment {
  constructor(dir, base) {
    this.dir = dir;
    this.base = base;
    this.size = 0;
    this.fd = null;
    this.next = base;
    this.offsets = [];
    this.times = [];
    this.lastEntryPos = 0;
    this.maxTs = -1;
    this.offsetOfMax = base;
    // Its index files may not match its log (new, changed, or recovered).
    this.stale = true;
  }

  file(ext) {
    return path.join(this.dir, fileName(this.base, ext));
  }

  /** A batch ending at `last` was written at `pos`. */
  onBatch(pos, last, maxTs, size) {
    if (maxTs > this.maxTs) {
      this.maxTs = maxTs;
      this.offsetOfMax = last;
    }
    if (pos - this.lastEntryPos > INTERVAL) {
      this.offsets.push([last - this.base, pos]);
      this.lastEntryPos = pos;
      this.timeEntry();
    }
    this.next = last + 1;
    this.size = pos + size;
    this.stale = true;
  }

  timeEntry() {
    const last = this.times.length > 0 ? this.times[this.times.length - 1][0] : -1;
    if (this.maxTs > last) this.times.push([this.maxTs, this.offsetOfMax - this.base]);
  }

  /** Forgets the index state and reads it again from the log bytes `buf`. */
  rescan(buf) {
    Object.assign(this, { size: 0, next: this.base, offsets: [], times: [], lastEntryPos: 0, maxTs: -1, offsetOfMax: this.base, stale: true });
    for (const h of headers(buf)) this.onBatch(h.pos, h.last, h.maxTs, h.size);
  }

  /** The segment is closed (rolled, or the broker closes): its indexes, the last time entry the maximum. */
  finish() {
    if (!this.stale) return this.close();
    this.stale = false;
    this.timeEntry();
    const index = Buffer.alloc(8 * this.offsets.length);
    this.offsets.forEach(([rel, pos], i) => {
      index.writeInt32BE(rel, 8 * i);
      index.writeInt32BE(pos, 8 * i + 4);
    });
    const time = Buffer.alloc(12 * this.times.length);
    this.times.forEach(([ts, rel], i) => {
      time.writeBigInt64BE(BigInt(ts), 12 * i);
      time.writeInt32BE(rel, 12 * i + 8);
    });
    writeSynced(this.file('index'), index);
    writeSynced(this.file('timeindex'), time);
    this.close();
  }

  open() {
    if (this.fd === null) this.fd = fs.openSync(this.file('log'), 'a');
    return this.fd;
  }

  close() {
    if (this.fd !== null) {
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
    }
    this.fd = null;
  }

  remove() {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    for (const ext of ['log', 'index', 'timeindex', 'txnindex']) fs.rmSync(this.file(ext), { force: true });
  }
}

/** Takes the directory for this process, or says which running process holds it. */
function lock(dir) {
  const real = fs.realpathSync(dir);
  if (held.has(real)) throw dirError(`the directory ${dir} is in use by another broker of this process`, { code: 'EBUSY' });
  const file = path.join(real, LOCK);
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw dirError(`cannot lock the directory ${dir}: ${e.message}`, e);
    }
    const pid = Number.parseInt(String(readOpt(file) ?? ''), 10);
    let alive = false;
    if (pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = e.code === 'EPERM';
      }
    }
    if (alive) throw dirError(`the directory ${dir} is in use by another broker (process ${pid})`, { code: 'EBUSY' });
    // Left by a process that is gone (or Kafka's empty lock file).
    fs.rmSync(file, { force: true });
  }
  held.add(real);
  return real;
}

/** `meta.properties`: read (node.id must be 1), or written for a new directory. */
function metaProperties(dir) {
  const file = path.join(dir, 'meta.properties');
  const text = readOpt(file);
  if (text === null) {
    const clusterId = uuid();
    writeAtomic(file, `#\n#Written by Spate\ncluster.id=${clusterId}\ndirectory.id=${uuid()}\nnode.id=${NODE_ID}\nversion=1\n`);
    return clusterId;
  }
  const props = new Map();
  for (const line of text.toString('utf8').split('\n').map((l) => l.trimStart())) {
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:]*)[=:]?(.*)$/.exec(line);
    props.set(m[1].trim(), m[2].trim());
  }
  if (!props.get('cluster.id')) throw dirError(`${file} has no cluster.id`);
  if (props.get('node.id') !== String(NODE_ID)) throw dirError(`${file}: node.id ${props.get('node.id')} is stored, not ${NODE_ID}`);
  return props.get('cluster.id');
}

class LogDir {
  #dir;
  #logs = new Map();
  /** Log directories whose entries changed, and whether the top one did. */
  #dirty = new Set();
  #starts = false;
  #segmentBytes;

  /**
   * Opens (creating it if missing) the directory `dir` for a broker whose
   * segments roll at `segmentBytes`: `{store, logs, clusterId, logDir}`,
   * `logs` the wasm `Logs` read from it.
   */
  static open(dir, glue, segmentBytes) {
    const abs = path.resolve(dir);
    try {
      if (!fs.statSync(abs).isDirectory()) throw dirError(`dir ${abs} is not a directory`, { code: 'ENOTDIR' });
    } catch (e) {
      if (e.code !== 'ENOENT') throw e.message.startsWith('spate-broker') ? e : dirError(`cannot use the directory ${abs}: ${e.message}`, e);
    }
    try {
      fs.mkdirSync(abs, { recursive: true });
      fs.accessSync(abs, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
    } catch (e) {
      throw dirError(`cannot use the directory ${abs}: ${e.message}`, e);
    }
    const real = lock(abs);
    const store = new LogDir();
    store.#dir = real;
    store.#segmentBytes = segmentBytes;
    try {
      const clusterId = metaProperties(real);
      const logs = store.#read(glue);
      return { store, logs, clusterId, logDir: abs };
    } catch (e) {
      store.abandon();
      if (e.message.startsWith('spate-broker')) throw e;
      throw dirError(`cannot read the directory ${abs}: ${e.message}`, e);
    }
  }

  /** Reads every log back, recovering after an unclean stop. */
  #read(glue) {
    const marker = path.join(this.#dir, CLEAN);
    const clean = fs.existsSync(marker);
    const starts = readCheckpoint(path.join(this.#dir, LOG_START));
    const logs = new glue.Logs();
    for (const entry of fs.readdirSync(this.#dir, { withFileTypes: true })) {
      const tp = entry.isDirectory() ? parseLogDirName(entry.name) : null;
      if (tp === null) continue;
      const dir = path.join(this.#dir, entry.name);
      const names = fs.readdirSync(dir);
      if (names.some((n) => n.endsWith('.swap'))) {
        throw dirError(`${dir} holds a compaction that \`spate serve\` has not finished: open the directory with it once`);
      }
      for (const n of names.filter((n) => n.endsWith('.cleaned') || n.endsWith('.deleted'))) fs.rmSync(path.join(dir, n));
      const bases = names.filter((n) => /^\d{20}\.log$/.test(n)).map((n) => Number(n.slice(0, 20))).sort((a, b) => a - b);
      const start = starts.get(entry.name);
      const log = { ...tp, dir, start: start ?? bases[0] ?? 0, segments: [], topicId: null };
      if (bases.length === 0) {
        bases.push(log.start);
        fs.writeFileSync(path.join(dir, fileName(log.start, 'log')), '');
      }
      for (const [i, base] of bases.entries()) {
        const seg = new Segment(dir, base);
        const buf = fs.readFileSync(seg.file('log'));
        const valid = logs.segment(tp.topic, tp.partition, base, buf, !clean);
        seg.rescan(buf.subarray(0, valid));
        // A clean close left its indexes right.
        seg.stale = !clean || valid < buf.length;
        log.segments.push(seg);
        if (valid < buf.length) {
          // Nothing after a torn batch can be trusted.
          fs.truncateSync(seg.file('log'), valid);
          for (const b of bases.slice(i + 1)) new Segment(dir, b).remove();
          break;
        }
      }
      if (start !== undefined) logs.start(tp.topic, tp.partition, start);
      const meta = readOpt(path.join(dir, 'partition.metadata'));
      log.topicId = meta && /topic_id:\s*(\S+)/.exec(meta.toString('utf8'))?.[1];
      this.#logs.set(entry.name, log);
    }
    if (clean) {
      fs.rmSync(marker);
      syncDir(this.#dir);
    }
    return logs;
  }

  #log(op) {
    const name = `${op.topic}-${op.partition}`;
    let log = this.#logs.get(name);
    if (log === undefined) {
      const dir = path.join(this.#dir, name);
      fs.mkdirSync(dir, { recursive: true });
      log = { topic: op.topic, partition: op.partition, dir, start: 0, segments: [], topicId: null };
      this.#logs.set(name, log);
      this.#dirty.add(this.#dir);
    }
    return log;
  }

  #newSegment(log, base) {
    const seg = new Segment(log.dir, base);
    seg.open();
    log.segments.push(seg);
    this.#dirty.add(log.dir);
    return seg;
  }

  /** Writes a journal taken from the broker (`Server.takeJournal`); its appends are on disk when this returns. */
  apply(journal) {
    const written = new Set();
    for (const op of journal.ops) {
      const log = this.#log(op);
      const segs = log.segments;
      switch (op.op) {
        case 'create': {
          if (log.topicId !== op.topicId) {
            writeAtomic(path.join(log.dir, 'partition.metadata'), `version: 0\ntopic_id: ${op.topicId}\n`);
            log.topicId = op.topicId;
          }
          break;
        }
        case 'append': {
          let seg = segs[segs.length - 1];
          if (seg === undefined || (seg.size > 0 && seg.size + op.bytes.length > this.#segmentBytes)) {
            if (seg) seg.finish();
            seg = this.#newSegment(log, op.base);
          }
          for (let n = 0; n < op.bytes.length;) n += fs.writeSync(seg.open(), op.bytes, n);
          seg.onBatch(seg.size, op.last, op.maxTs, op.bytes.length);
          written.add(seg);
          break;
        }
        case 'truncateAll':
        case 'truncate': {
          const offset = op.op === 'truncate' ? op.offset : -Infinity;
          while (segs.length > 0 && segs[segs.length - 1].base >= offset) segs.pop().remove();
          const seg = segs[segs.length - 1];
          if (seg) {
            const buf = fs.readFileSync(seg.file('log'));
            const cut = [...headers(buf)].find((h) => h.last >= offset)?.pos ?? buf.length;
            fs.truncateSync(seg.file('log'), cut);
            seg.rescan(buf.subarray(0, cut));
            seg.open();
            written.add(seg);
          }
          this.#dirty.add(log.dir);
          break;
        }
        case 'replace':
          this.#replace(log, op);
          break;
        case 'deleteLog': {
          for (const s of segs) s.remove();
          fs.rmSync(log.dir, { recursive: true, force: true });
          this.#logs.delete(`${op.topic}-${op.partition}`);
          this.#dirty.add(this.#dir);
          this.#starts = true;
          break;
        }
        default: // deleteBelow: the new start comes in `journal.logs`
      }
    }
    const moved = [];
    for (const l of journal.logs) {
      if (l.start === undefined) continue;
      const log = this.#log(l);
      if (log.segments.length === 0) this.#newSegment(log, l.end);
      if (log.start !== l.start) {
        log.start = l.start;
        moved.push(log);
      }
    }
    for (const seg of written) {
      if (seg.fd !== null) fs.fdatasyncSync(seg.fd);
    }
    // The new starts are durable before any segment goes, so that no
    // crash brings deleted records back.
    if (moved.length > 0 || this.#starts) this.#writeStarts();
    for (const log of moved) {
      while (log.segments.length > 1 && log.segments[1].base <= log.start) log.segments.shift().remove();
      this.#dirty.add(log.dir);
    }
    for (const d of this.#dirty) if (fs.existsSync(d)) syncDir(d);
    this.#dirty.clear();
  }

  /** The cleaner rewrote the batches ending in `from..to`: each segment holding some is rewritten and renamed into place. */
  #replace(log, op) {
    const segs = log.segments;
    for (const [i, seg] of segs.entries()) {
      const end = i + 1 < segs.length ? segs[i + 1].base : Infinity;
      const buf = fs.readFileSync(seg.file('log'));
      const all = [...headers(buf)];
      const kept = all.filter((h) => h.last < op.from || h.last >= op.to).map((h) => [h.base, buf.subarray(h.pos, h.pos + h.size)]);
      const added = op.batches.filter(([base]) => base >= seg.base && base < end);
      if (kept.length === all.length && added.length === 0) continue;
      const bytes = Buffer.concat([...kept, ...added].sort((a, b) => a[0] - b[0]).map((b) => b[1]));
      if (seg.fd !== null) fs.closeSync(seg.fd);
      seg.fd = null;
      writeSynced(`${seg.file('log')}.cleaned`, bytes);
      fs.renameSync(`${seg.file('log')}.cleaned`, seg.file('log'));
      seg.rescan(bytes);
      if (i + 1 < segs.length) seg.finish();
      else seg.open();
      this.#dirty.add(log.dir);
    }
  }

  #writeStarts() {
    const entries = [...this.#logs.values()].map((l) => [l.topic, l.partition, l.start]);
    writeAtomic(path.join(this.#dir, LOG_START), encodeCheckpoint(entries));
    this.#starts = false;
  }

  /** A clean close: indexes of the active segments, the checkpoints, the clean shutdown marker. */
  close() {
    for (const log of this.#logs.values()) {
      for (const seg of log.segments) seg.close();
      log.segments[log.segments.length - 1]?.finish();
    }
    const logs = [...this.#logs.values()];
    writeAtomic(path.join(this.#dir, RECOVERY), encodeCheckpoint(logs.map((l) => [l.topic, l.partition, l.segments[l.segments.length - 1]?.next ?? l.start])));
    this.#writeStarts();
    writeAtomic(path.join(this.#dir, CLEAN), '{"version":0,"brokerEpoch":-1}');
    this.abandon();
  }

  /** Lets the directory go without writing anything more (after a failure). */
  abandon() {
    for (const log of this.#logs.values()) {
      for (const seg of log.segments) {
        if (seg.fd !== null) fs.closeSync(seg.fd);
        seg.fd = null;
      }
    }
    this.#logs.clear();
    if (held.delete(this.#dir)) fs.rmSync(path.join(this.#dir, LOCK), { force: true });
  }
}

module.exports = { LogDir };
