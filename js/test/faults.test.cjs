// The fault controls with kafkajs over real TCP: injected errors it
// retries through, failing appends it reports, dropped connections it
// reconnects after, delays, what observe() sees, and a virtual clock that
// expires a silent group member only when the test advances it.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { once } = require('node:events');
const { Kafka, logLevel } = require('kafkajs');
const { Broker } = require('..');

function kafka(broker, retry) {
  return new Kafka({
    clientId: 'faults-test',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 20, maxRetryTime: 100, ...retry },
  });
}

/** The observed requests of `api` (Kafka's name for it). */
function of(seen, api) {
  return seen.filter((r) => r.api === api);
}

test('an injected NOT_LEADER_OR_FOLLOWER is retried through; observe sees each Produce', async () => {
  const broker = await Broker.start({ topics: ['t', 'other'] });
  const producer = kafka(broker).producer();
  try {
    await producer.connect();
    const seen = broker.observe();
    broker.injectError({ api: 'Produce', error: 'NOT_LEADER_OR_FOLLOWER', count: 2, topic: 't', partition: 0 });
    assert.equal(broker.pendingFaults, 2);
    // Another topic is not affected.
    await producer.send({ topic: 'other', messages: [{ value: 'x' }] });
    assert.equal(broker.pendingFaults, 2);
    await producer.send({ topic: 't', messages: [{ value: 'v' }] });
    assert.equal(broker.pendingFaults, 0);
    const produces = of(seen.take(), 'Produce');
    assert.equal(produces.length, 4, 'one for "other", two failed and one written for "t"');
    assert.deepEqual(produces.map((p) => p.body.topic_data[0].name), ['other', 't', 't', 't']);
    assert.equal(produces[1].header.client_id, 'faults-test');
    assert.equal(produces[1].header.request_api_key, 0);
    // A break ends the iteration: what comes later is not recorded.
    await seen.return();
    // Only one record reached "t".
    const admin = kafka(broker).admin();
    await admin.connect();
    const [p] = await admin.fetchTopicOffsets('t');
    await admin.disconnect();
    assert.equal(p.high, '1');
    assert.deepEqual(await seen.next(), { value: undefined, done: true });
    // An iterator waiting for a request ends with the broker.
    const idle = broker.observe();
    const waiting = idle.next();
    await broker.close();
    assert.deepEqual(await waiting, { value: undefined, done: true });
  } finally {
    await producer.disconnect();
    await broker.close();
  }
});

test('failAppends: the client gets KAFKA_STORAGE_ERROR and nothing is written', async () => {
  const broker = await Broker.start({ topics: ['t'] });
  const producer = kafka(broker, { retries: 0 }).producer();
  try {
    await producer.connect();
    broker.failAppends(1, { topic: 't' });
    const err = await producer.send({ topic: 't', acks: -1, messages: [{ value: 'lost' }] }).then(
      () => assert.fail('the send succeeded'),
      (e) => e,
    );
    const cause = err.originalError ?? err.cause ?? err;
    assert.equal(cause.type, 'KAFKA_STORAGE_ERROR', `${err.name}: ${err.message}`);
    // The fault is spent: the next send is written.
    await producer.send({ topic: 't', acks: -1, messages: [{ value: 'kept' }] });
    const admin = kafka(broker).admin();
    await admin.connect();
    const [p] = await admin.fetchTopicOffsets('t');
    await admin.disconnect();
    assert.equal(p.high, '1');
  } finally {
    await producer.disconnect();
    await broker.close();
  }
});

test('a dropped connection: kafkajs reconnects and sends again; a delay holds the answer', async () => {
  const broker = await Broker.start({ topics: ['t'] });
  const producer = kafka(broker).producer();
  try {
    await producer.connect();
    const seen = broker.observe();
    broker.dropConnection('Produce');
    await producer.send({ topic: 't', messages: [{ value: 'once' }] });
    const produces = of(seen.take(), 'Produce');
    // The dropped request never reached the broker: one Produce, on a
    // connection other than the one kafkajs used before.
    assert.equal(produces.length, 1);
    assert.equal(broker.pendingFaults, 0);

    broker.delay('Produce', 300, { count: 1 });
    const t0 = Date.now();
    await producer.send({ topic: 't', messages: [{ value: 'late' }] });
    assert.ok(Date.now() - t0 >= 280, `answered after ${Date.now() - t0} ms`);
    const admin = kafka(broker).admin();
    await admin.connect();
    const [p] = await admin.fetchTopicOffsets('t');
    await admin.disconnect();
    assert.equal(p.high, '2');
    await seen.return();
  } finally {
    await producer.disconnect();
    await broker.close();
  }
});

test('a client that goes while its request is held: the broker carries on', async () => {
  const broker = await Broker.start();
  try {
    broker.delay('ApiVersions', 50, { count: 1 });
    const apiVersions = Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 3, 0xff, 0xff]);
    const gone = net.connect(broker.port, '127.0.0.1');
    await once(gone, 'connect');
    gone.end(apiVersions);
    await once(gone, 'close');
    await new Promise((r) => setTimeout(r, 80)); // the hold ends with nobody there
    const s = net.connect(broker.port, '127.0.0.1');
    await once(s, 'connect');
    s.write(apiVersions);
    const [answer] = await once(s, 'data');
    assert.equal(answer.readInt32BE(4), 3, 'correlation id');
    s.destroy();
  } finally {
    await broker.close();
  }
});

/** A JoinGroup v0 request: `member` joins `group` with a session timeout. */
function joinGroup(group, sessionMs) {
  const str = (s) => {
    const b = Buffer.alloc(2 + s.length);
    b.writeInt16BE(s.length, 0);
    b.write(s, 2);
    return b;
  };
  const int = (n, size) => {
    const b = Buffer.alloc(size);
    if (size === 2) b.writeInt16BE(n, 0);
    else b.writeInt32BE(n, 0);
    return b;
  };
  const body = Buffer.concat([
    int(11, 2), int(0, 2), int(7, 4), str('silent'), // header: JoinGroup v0, correlation 7
    str(group), int(sessionMs, 4), str(''), str('consumer'),
    int(1, 4), str('range'), int(0, 4), // one protocol, empty metadata
  ]);
  return Buffer.concat([int(body.length, 4), body]);
}

test('virtual clock: a member that stops heartbeating leaves only when the test advances', async () => {
  const broker = await Broker.start({ virtualClock: true });
  const admin = kafka(broker).admin();
  const s = net.connect(broker.port, '127.0.0.1');
  try {
    await once(s, 'connect');
    const t0 = broker.now;
    s.write(joinGroup('g', 10000));
    const [answer] = await once(s, 'data');
    assert.equal(answer.readInt32BE(4), 7, 'correlation id');
    assert.equal(answer.readInt16BE(8), 0, 'JoinGroup error code');
    await admin.connect();
    const members = async () => (await admin.describeGroups(['g'])).groups[0];
    assert.equal((await members()).members.length, 1);
    // Wall-clock time passing changes nothing; the virtual clock stands.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(broker.now, t0);
    await broker.advance(9000);
    assert.equal((await members()).members.length, 1, 'within the session timeout');
    await broker.advance(1001);
    const g = await members();
    assert.equal(g.members.length, 0, 'the session expired');
    assert.equal(g.state, 'Empty');
  } finally {
    s.destroy();
    await admin.disconnect();
    await broker.close();
  }
});

test('bad arguments are TypeErrors naming the option', async () => {
  await assert.rejects(Broker.start({ virtualClock: 'yes' }), { name: 'TypeError', message: /virtualClock/ });
  const broker = await Broker.start();
  try {
    const bad = [
      [() => broker.injectError({ api: 'Prodce', error: 'NOT_LEADER_OR_FOLLOWER' }), /injectError: api/],
      [() => broker.injectError({ api: 'Produce', error: 'NO_SUCH_ERROR' }), /injectError: .*error code/],
      [() => broker.injectError({ api: 'Produce', error: 6, count: -1 }), /injectError: count/],
      [() => broker.injectError({ api: 'Produce', error: 6, topc: 't' }), /injectError: unknown key "topc"/],
      [() => broker.injectError({ api: 'Heartbeat', error: 6, topic: 't' }), /injectError: .*topic filter/],
      [() => broker.failAppends('2'), /failAppends: count/],
      [() => broker.failAppends(1, { topic: 3 }), /failAppends: topic/],
      [() => broker.delay('Produce', -5), /delay: ms/],
      [() => broker.delay('Nope', 5), /delay: api/],
      [() => broker.dropConnection('Fetch', { count: 1.5 }), /dropConnection: count/],
    ];
    for (const [call, message] of bad) assert.throws(call, { name: 'TypeError', message });
    await assert.rejects(broker.advance(10), { name: 'TypeError', message: /advance: .*virtualClock/ });
    assert.equal(broker.pendingFaults, 0);
    broker.injectError({ api: 18, error: 35 });
    broker.failAppends(2);
    broker.dropConnection('Fetch');
    assert.equal(broker.pendingFaults, 4);
    broker.clearFaults();
    assert.equal(broker.pendingFaults, 0);
  } finally {
    await broker.close();
  }
  // After close, observe() ends and controls say the broker is closed.
  assert.throws(() => broker.failAppends(1), /closed/);
});
