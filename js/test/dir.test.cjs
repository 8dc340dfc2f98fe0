// The `dir` option: logs in a directory in Kafka's layout, read back at
// start, opened by the native `spate serve --data-dir` and the other way.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const readline = require('node:readline');
const { Kafka, logLevel } = require('kafkajs');
const { Broker } = require('..');

// The native binary, as `cargo build -p spate` leaves it.
const SPATE = process.env.SPATE_BIN || path.join(__dirname, '..', '..', 'target', 'debug', 'spate');
const haveSpate = fs.existsSync(SPATE);

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'spate-dir-'));
}

function kafka(bootstrap) {
  return new Kafka({ clientId: 'spate-dir-test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
}

/** Produces `n` messages `prefix0..` to `topic`, acks=all. */
async function produce(bootstrap, topic, prefix, n) {
  const producer = kafka(bootstrap).producer();
  await producer.connect();
  try {
    const messages = Array.from({ length: n }, (_, i) => ({ key: `k${i % 3}`, value: `${prefix}${i}` }));
    await producer.send({ topic, acks: -1, messages });
    return messages.map((m) => m.value);
  } finally {
    await producer.disconnect();
  }
}

/** Reads `topic` from the beginning in a new group until `n` values came. */
async function consume(bootstrap, topic, n, groupId = `g-${Math.random()}`) {
  const consumer = kafka(bootstrap).consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen = [];
    await new Promise((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(message.value.toString());
            if (seen.length === n) resolve();
          },
        })
        .catch(reject);
    });
    return seen.sort();
  } finally {
    await consumer.disconnect();
  }
}

/** The sum of the offsets `groupId` committed on `orders`. */
async function offsetsOf(bootstrap, groupId) {
  const admin = kafka(bootstrap).admin();
  await admin.connect();
  try {
    const got = await admin.fetchOffsets({ groupId, topics: ['orders'] });
    return got[0].partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

test('kafkajs: produce to a directory, close, start again on it, read everything back', async () => {
  const dir = tempDir();
  let broker = await Broker.start({ dir, topics: [{ name: 'orders', partitions: 3 }] });
  let sent;
  let committed;
  try {
    assert.ok(!fs.existsSync(path.join(dir, '.kafka_cleanshutdown')));
    assert.equal(fs.readFileSync(path.join(dir, '.lock'), 'utf8').trim(), String(process.pid));
    sent = await produce(broker.bootstrap, 'orders', 'v', 60);
    // On disk before the answer: byte for byte in the segments.
    const logs = [0, 1, 2].map((p) => fs.readFileSync(path.join(dir, `orders-${p}`, '00000000000000000000.log')));
    assert.ok(logs.reduce((n, b) => n + b.length, 0) > 3 * 61);
    assert.match(fs.readFileSync(path.join(dir, 'orders-0', 'partition.metadata'), 'utf8'), /^version: 0\ntopic_id: [\w-]{22}\n$/);
  } finally {
    await broker.close();
  }
  assert.ok(fs.existsSync(path.join(dir, '.kafka_cleanshutdown')));
  assert.ok(!fs.existsSync(path.join(dir, '.lock')));
  assert.ok(fs.existsSync(path.join(dir, 'orders-0', '00000000000000000000.timeindex')));
  assert.match(fs.readFileSync(path.join(dir, 'meta.properties'), 'utf8'), /node\.id=1\n/);

  // `topics` names a topic the directory has: it is kept, not an error.
  broker = await Broker.start({ dir, topics: [{ name: 'orders', partitions: 3 }] });
  try {
    assert.deepEqual(await consume(broker.bootstrap, 'orders', 60, 'kept'), sent.sort());
    const more = await produce(broker.bootstrap, 'orders', 'w', 3);
    const admin = kafka(broker.bootstrap).admin();
    await admin.connect();
    const high = (await admin.fetchTopicOffsets('orders')).reduce((n, p) => n + Number(p.high), 0);
    await admin.disconnect();
    assert.equal(high, 63);
    assert.equal(more.length, 3);
    committed = await offsetsOf(broker.bootstrap, 'kept');
    assert.ok(committed > 0);
  } finally {
    await broker.close();
  }
  // The group's committed offsets (__consumer_offsets) are kept too.
  broker = await Broker.start({ dir });
  try {
    assert.equal(await offsetsOf(broker.bootstrap, 'kept'), committed);
  } finally {
    await broker.close();
  }
  fs.rmSync(dir, { recursive: true });
});

test('a crash: a torn batch at a segment end is cut at the next start', async () => {
  const dir = tempDir();
  // A child process produces and dies without closing.
  const child = spawnSync(process.execPath, ['-e', `
    const { Broker } = require(${JSON.stringify(path.join(__dirname, '..'))});
    const { Kafka, logLevel } = require('kafkajs');
    (async () => {
      const b = await Broker.start({ dir: ${JSON.stringify(dir)} });
      const p = new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING }).producer();
      await p.connect();
      await p.send({ topic: 'crash', acks: -1, messages: [{ value: 'a' }, { value: 'b' }] });
      await p.send({ topic: 'crash', acks: -1, messages: [{ value: 'c' }] });
      process.kill(process.pid, 'SIGKILL');
    })();
  `], { cwd: path.join(__dirname, '..'), encoding: 'utf8' });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  assert.ok(!fs.existsSync(path.join(dir, '.kafka_cleanshutdown')));
  const log = path.join(dir, 'crash-0', '00000000000000000000.log');
  const whole = fs.statSync(log).size;
  // Half a batch written when the power went.
  fs.appendFileSync(log, fs.readFileSync(log).subarray(0, 40));
  // Its lock names a process that is gone: taken over.
  const broker = await Broker.start({ dir });
  try {
    assert.equal(fs.statSync(log).size, whole);
    assert.deepEqual(await consume(broker.bootstrap, 'crash', 3), ['a', 'b', 'c']);
  } finally {
    await broker.close();
  }
  fs.rmSync(dir, { recursive: true });
});

test('a dir that is a file, in use, or malformed is a rejected start', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'plain-file');
  fs.writeFileSync(file, 'x');
  await assert.rejects(Broker.start({ dir: file }), { code: 'ENOTDIR', message: /is not a directory/ });
  await assert.rejects(Broker.start({ dir: 42 }), TypeError);

  const held = path.join(dir, 'held');
  const first = await Broker.start({ dir: held });
  try {
    await assert.rejects(Broker.start({ dir: held }), { code: 'EBUSY', message: /in use by another broker/ });
  } finally {
    await first.close();
  }
  // Held by another running process.
  const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  try {
    fs.writeFileSync(path.join(held, '.lock'), `${other.pid}\n`);
    await assert.rejects(Broker.start({ dir: held }), { code: 'EBUSY', message: new RegExp(`process ${other.pid}`) });
  } finally {
    other.kill();
  }
  await new Promise((r) => other.once('exit', r));
  await (await Broker.start({ dir: held })).close();

  const bad = path.join(dir, 'bad');
  fs.mkdirSync(bad);
  fs.writeFileSync(path.join(bad, 'meta.properties'), 'version=1\nnode.id=7\ncluster.id=abc\n');
  await assert.rejects(Broker.start({ dir: bad }), /node\.id 7 is stored, not 1/);
  // A meta.properties that cannot be read (here a directory; root reads any file).
  const unreadable = path.join(dir, 'unreadable');
  fs.mkdirSync(path.join(unreadable, 'meta.properties'), { recursive: true });
  await assert.rejects(Broker.start({ dir: unreadable }), { code: 'EISDIR', message: /cannot read the directory .*unreadable/ });
  // Each failed start let the directory go.
  assert.ok(!fs.existsSync(path.join(unreadable, '.lock')));
  if (process.getuid && process.getuid() !== 0) {
    const locked = path.join(dir, 'locked');
    fs.mkdirSync(locked, { mode: 0o000 });
    await assert.rejects(Broker.start({ dir: locked }), /cannot use the directory/);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Every `offset:key=value` of `topic` (one partition), read from the beginning. */
async function readAll(bootstrap, topic, n) {
  const consumer = kafka(bootstrap).consumer({ groupId: `r-${Math.random()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen = [];
    await new Promise((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(`${message.offset}:${message.key}=${message.value}`);
            if (seen.length === n) resolve();
          },
        })
        .catch(reject);
    });
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

test('DeleteRecords, a deleted topic and compaction are on disk after a restart', async () => {
  const dir = tempDir();
  const compact = { 'cleanup.policy': 'compact', 'segment.ms': '1', 'min.cleanable.dirty.ratio': '0.01' };
  let broker = await Broker.start({ dir, virtualClock: true, topics: [{ name: 'c', configs: compact }, 'r', 'gone'] });
  let compacted;
  try {
    const producer = kafka(broker.bootstrap).producer();
    await producer.connect();
    for (let i = 0; i < 20; i++) await producer.send({ topic: 'c', messages: [{ key: `k${i % 2}`, value: `v${i}` }] });
    await producer.send({ topic: 'r', messages: Array.from({ length: 10 }, (_, i) => ({ value: `r${i}` })) });
    await producer.send({ topic: 'gone', messages: [{ value: 'x' }] });
    await producer.disconnect();
    const admin = kafka(broker.bootstrap).admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: ['r'] });
    await admin.deleteTopicRecords({ topic: 'r', partitions: [{ partition: 0, offset: '4' }] });
    await admin.deleteTopics({ topics: ['gone'] });
    await admin.disconnect();
    const before = fs.statSync(path.join(dir, 'c-0', '00000000000000000000.log')).size;
    for (let i = 0; i < 5; i++) await broker.advance(60000);
    // The cleaner ran, and its result replaced the segment on disk.
    assert.ok(fs.statSync(path.join(dir, 'c-0', '00000000000000000000.log')).size < before);
    assert.ok(!fs.existsSync(path.join(dir, 'gone-0')));
    compacted = await readAll(broker.bootstrap, 'c', 3);
    assert.ok(compacted.length < 20);
  } finally {
    await broker.close();
  }
  assert.match(fs.readFileSync(path.join(dir, 'log-start-offset-checkpoint'), 'utf8'), /^r 0 4$/m);
  broker = await Broker.start({ dir });
  try {
    const admin = kafka(broker.bootstrap).admin();
    await admin.connect();
    const [r] = await admin.fetchTopicOffsets('r');
    assert.deepEqual([r.low, r.high], ['4', '10']);
    assert.deepEqual((await admin.listTopics()).filter((t) => !t.startsWith('__')).sort(), ['c', 'r']);
    await admin.disconnect();
    assert.deepEqual(await readAll(broker.bootstrap, 'c', compacted.length), compacted);
  } finally {
    await broker.close();
  }
  fs.rmSync(dir, { recursive: true });
});

test('a write that fails stops the broker, unanswered, and close() says why', async () => {
  const dir = tempDir();
  const broker = await Broker.start({ dir });
  // Where the new topic's log directory must go, a file: even root cannot write there.
  fs.writeFileSync(path.join(dir, 'blocked-0'), '');
  const admin = kafka(broker.bootstrap).admin({ retry: { retries: 0 } });
  await admin.connect();
  await assert.rejects(admin.createTopics({ topics: [{ topic: 'blocked' }], timeout: 2000 }));
  await admin.disconnect().catch(() => {});
  await assert.rejects(broker.close(), { message: /writing to the directory failed, the broker stopped: .*blocked-0/ });
  // The directory is let go: a new broker opens it.
  fs.rmSync(path.join(dir, 'blocked-0'));
  await (await Broker.start({ dir })).close();
  fs.rmSync(dir, { recursive: true });
});

/** `spate serve --data-dir dir` on a free port: {bootstrap, stop()}. */
async function serve(dir, ...args) {
  const child = spawn(SPATE, ['serve', ...args, '--listen', '127.0.0.1:0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const lines = readline.createInterface({ input: child.stdout });
  const [line] = await Promise.race([
    new Promise((resolve) => lines.once('line', (l) => resolve([l]))),
    new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`spate serve exited ${code}: ${err}`)))),
  ]);
  const bootstrap = line.replace(/^listening on /, '');
  return {
    bootstrap,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal, err }));
        child.kill('SIGTERM');
      }),
  };
}

test('spate serve opens what the Node broker wrote, and the other way', { skip: !haveSpate && !process.env.SPATE_BIN && `no ${SPATE}: cargo build -p spate` }, async () => {
  const dir = tempDir();
  let broker = await Broker.start({ dir, topics: [{ name: 'shared', partitions: 2 }] });
  const sent = await produce(broker.bootstrap, 'shared', 'node', 40);
  // Batches enough for index entries: one every 4096 bytes.
  for (let i = 0; i < 30; i++) sent.push(...(await produce(broker.bootstrap, 'shared', `${'x'.repeat(200)}${i}-`, 10)));
  await broker.close();

  // Without the clean shutdown marker spate serve checks every batch and
  // rebuilds the indexes by its rules: they are the ones this broker wrote.
  const segment = (ext) => [0, 1].map((p) => fs.readFileSync(path.join(dir, `shared-${p}`, `00000000000000000000.${ext}`)));
  const written = { index: segment('index'), timeindex: segment('timeindex') };
  assert.ok(written.index.some((b) => b.length >= 8 * 2));
  fs.rmSync(path.join(dir, '.kafka_cleanshutdown'));
  const recovering = await serve(dir);
  // Serving (and so past installing its SIGTERM handler, which comes after
  // the "listening on" line).
  const admin = kafka(recovering.bootstrap).admin();
  await admin.connect();
  assert.ok((await admin.listTopics()).includes('shared'));
  await admin.disconnect();
  const { code, err } = await recovering.stop();
  assert.equal(code, 0, err);
  assert.deepEqual({ index: segment('index'), timeindex: segment('timeindex') }, written);

  const native = await serve(dir);
  let more;
  try {
    assert.deepEqual(await consume(native.bootstrap, 'shared', sent.length), [...sent].sort());
    more = await produce(native.bootstrap, 'shared', 'native', 10);
    await produce(native.bootstrap, 'fresh', 'f', 5);
  } finally {
    const { code, err } = await native.stop();
    assert.equal(code, 0, err);
  }
  assert.ok(fs.existsSync(path.join(dir, '.kafka_cleanshutdown')));

  broker = await Broker.start({ dir });
  try {
    assert.deepEqual(await consume(broker.bootstrap, 'shared', sent.length + 10), [...sent, ...more].sort());
    assert.equal((await consume(broker.bootstrap, 'fresh', 5)).length, 5);
  } finally {
    await broker.close();
  }
  fs.rmSync(dir, { recursive: true });
});

test('rolled segments: DeleteRecords frees them, and spate serve reads and rolls them too', { skip: !haveSpate && !process.env.SPATE_BIN && `no ${SPATE}: cargo build -p spate` }, async () => {
  const dir = tempDir();
  let broker = await Broker.start({ dir, segmentBytes: 1024, topics: ['rolled'] });
  const sent = [];
  for (let i = 0; i < 20; i++) sent.push(...(await produce(broker.bootstrap, 'rolled', `${'y'.repeat(100)}${i}-`, 3)));
  const segments = () => fs.readdirSync(path.join(dir, 'rolled-0')).filter((f) => f.endsWith('.log')).sort();
  const rolled = segments();
  assert.ok(rolled.length >= 5, rolled.join());
  // Each closed segment has its indexes, its last time entry the maximum.
  assert.ok(fs.statSync(path.join(dir, 'rolled-0', rolled[0].replace('.log', '.timeindex'))).size >= 12);
  const admin = kafka(broker.bootstrap).admin();
  await admin.connect();
  await admin.fetchTopicMetadata({ topics: ['rolled'] });
  await admin.deleteTopicRecords({ topic: 'rolled', partitions: [{ partition: 0, offset: '30' }] });
  await admin.disconnect();
  // Segments wholly below the new start are gone; the one holding it stays.
  const kept = segments();
  assert.ok(kept.length < rolled.length);
  assert.ok(Number(kept[0].slice(0, 20)) <= 30);
  await broker.close();

  const config = path.join(dir, '..', `${path.basename(dir)}.properties`);
  fs.writeFileSync(config, 'log.segment.bytes=1024\n');
  const native = await serve(dir, config);
  let more;
  try {
    assert.deepEqual(await consume(native.bootstrap, 'rolled', 30), sent.slice(30).sort());
    more = [];
    for (let i = 0; i < 5; i++) more.push(...(await produce(native.bootstrap, 'rolled', `${'z'.repeat(300)}${i}-`, 2)));
  } finally {
    const { code, err } = await native.stop();
    assert.equal(code, 0, err);
    fs.rmSync(config);
  }
  assert.ok(segments().length > kept.length);
  broker = await Broker.start({ dir, segmentBytes: 1024 });
  try {
    assert.deepEqual(await consume(broker.bootstrap, 'rolled', 40), [...sent.slice(30), ...more].sort());
  } finally {
    await broker.close();
  }
  fs.rmSync(dir, { recursive: true });
});
