// The broker's own behaviour over raw TCP: options, errors, framing,
// close, and a process that forgets to close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Broker } from '../index.mjs';

/** An ApiVersions v0 request frame, size prefix included. */
function apiVersions(correlationId) {
  const client = Buffer.from('raw');
  const b = Buffer.alloc(4 + 2 + 2 + 4 + 2 + client.length);
  b.writeInt32BE(b.length - 4, 0);
  b.writeInt16BE(18, 4); // ApiVersions
  b.writeInt16BE(0, 6); // v0
  b.writeInt32BE(correlationId, 8);
  b.writeInt16BE(client.length, 12);
  client.copy(b, 14);
  return b;
}

/** Reads `n` response frames from `socket`: [{correlationId, errorCode, apis}]. */
async function readResponses(socket, n) {
  const out = [];
  let buf = Buffer.alloc(0);
  for await (const chunk of socket) {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const size = buf.readInt32BE(0);
      const f = buf.subarray(4, 4 + size);
      out.push({ correlationId: f.readInt32BE(0), errorCode: f.readInt16BE(4), apis: f.readInt32BE(6) });
      buf = buf.subarray(4 + size);
    }
    if (out.length >= n) break;
  }
  return out;
}

function connect(broker) {
  const s = net.connect(broker.port, '127.0.0.1');
  s.setNoDelay(true);
  return once(s, 'connect').then(() => s);
}

test('answers frames that come split byte by byte and several in one write', async () => {
  const broker = await Broker.start();
  try {
    assert.match(broker.bootstrap, /^127\.0\.0\.1:\d+$/);
    assert.equal(broker.bootstrap, `127.0.0.1:${broker.port}`);
    const s = await connect(broker);
    const reading = readResponses(s, 3);
    s.write(Buffer.concat([apiVersions(1), apiVersions(2)]));
    for (const byte of apiVersions(3)) {
      s.write(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    const got = await reading;
    assert.deepEqual(got.map((r) => r.correlationId), [1, 2, 3]);
    for (const r of got) {
      assert.equal(r.errorCode, 0);
      assert.ok(r.apis > 10, `ApiVersions lists ${r.apis} APIs`);
    }
    s.destroy();
  } finally {
    await broker.close();
  }
});

test('a size prefix out of range closes that connection and no other', async () => {
  const broker = await Broker.start();
  try {
    const bad = await connect(broker);
    const good = await connect(broker);
    const bytes = Buffer.alloc(8);
    bytes.writeInt32BE(-5, 0);
    bad.write(bytes);
    bad.resume();
    await once(bad, 'close');
    const reading = readResponses(good, 1);
    good.write(apiVersions(7));
    assert.equal((await reading)[0].correlationId, 7);
    good.destroy();
  } finally {
    await broker.close();
  }
});

test('a frame the broker cannot decode closes its connection', async () => {
  const broker = await Broker.start();
  try {
    const s = await connect(broker);
    const junk = Buffer.from([0, 0, 0, 3, 0xff, 0xff, 0xff]); // too short for a header
    s.write(junk);
    s.resume();
    await once(s, 'close');
  } finally {
    await broker.close();
  }
});

test('bad options are clear errors', async () => {
  await assert.rejects(Broker.start({ prot: 9092 }), { name: 'TypeError', message: /unknown option "prot"/ });
  await assert.rejects(Broker.start({ port: -1 }), { name: 'TypeError', message: /port must be an integer/ });
  await assert.rejects(Broker.start({ port: '9092' }), { name: 'TypeError', message: /port must be an integer/ });
  await assert.rejects(Broker.start({ host: 'localhost' }), { name: 'TypeError', message: /host must be an IP/ });
  await assert.rejects(Broker.start({ topics: [{ name: 't', partitions: 0 }] }), /partitions must be a positive integer/);
  await assert.rejects(Broker.start({ topics: [{ name: 't', parts: 2 }] }), /unknown key "parts"/);
  await assert.rejects(Broker.start(42), /options must be an object/);
  // A name Kafka refuses comes back with Kafka's reason.
  await assert.rejects(Broker.start({ topics: ['bad name!'] }), /cannot create topics: "bad name!"/);
});

test('a busy port is a clear error with its code', async () => {
  const first = await Broker.start();
  try {
    await assert.rejects(Broker.start({ port: first.port }), (e) => {
      assert.equal(e.code, 'EADDRINUSE');
      assert.match(e.message, new RegExp(`port ${first.port} on 127.0.0.1 is already in use`));
      return true;
    });
  } finally {
    await first.close();
  }
});

test('close drops connections, frees the port, and is harmless twice', async () => {
  const broker = await Broker.start();
  const port = broker.port;
  const s = await connect(broker);
  s.resume();
  const closed = once(s, 'close');
  await broker.close();
  await broker.close();
  await closed;
  // The port is free again.
  const again = await Broker.start({ port });
  assert.equal(again.port, port);
  await Promise.all([again.close(), again.close()]);
});

test('several brokers in one process are apart', async () => {
  const a = await Broker.start({ topics: [{ name: 'only-a', partitions: 2 }] });
  const b = await Broker.start({ topics: ['only-b'] });
  try {
    assert.notEqual(a.port, b.port);
  } finally {
    await a.close();
    await b.close();
  }
});

test('the CommonJS entry gives the same Broker', () => {
  const require = createRequire(import.meta.url);
  assert.equal(require('../index.cjs').Broker, Broker);
});

test('a process that never closes its broker still exits', async () => {
  // The child starts a broker, answers one request, and returns without close().
  const script = `
    const net = require('node:net');
    const { Broker } = require(${JSON.stringify(fileURLToPath(new URL('../index.cjs', import.meta.url)))});
    Broker.start({ topics: ['t'] }).then((b) => {
      const s = net.connect(b.port, '127.0.0.1', () => s.write(Buffer.from(${JSON.stringify([...apiVersions(1)])})));
      s.once('data', () => { s.destroy(); console.log('answered'); });
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
  const [code, signal] = await once(child, 'exit');
  clearTimeout(timer);
  assert.equal(signal, null, 'the child hung and was killed');
  assert.equal(code, 0);
  assert.equal(stdout.trim(), 'answered');
});

test("the README's complete test is test/readme.test.mjs, word for word", async () => {
  const { readFile } = await import('node:fs/promises');
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const block = readme.match(/```js\n([\s\S]*?)```/)[1];
  const file = await readFile(new URL('./readme.test.mjs', import.meta.url), 'utf8');
  assert.equal(file.slice(file.indexOf('\n') + 1), block);
});
