// kafkajs (CommonJS) against the in-process broker: admin, produce, and a
// consumer group that reads everything back and commits.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Kafka, logLevel } = require('kafkajs');
const { Broker } = require('..');

test('kafkajs: admin, produce, consumer group', async () => {
  const broker = await Broker.start({ topics: [{ name: 'orders', partitions: 3 }] });
  const kafka = new Kafka({ clientId: 'spate-broker-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: 'billing', sessionTimeout: 6000, heartbeatInterval: 500 });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'audit', numPartitions: 2 }] });
    assert.deepEqual((await admin.listTopics()).filter((t) => !t.startsWith('__')).sort(), ['audit', 'orders']);
    const meta = await admin.fetchTopicMetadata({ topics: ['orders'] });
    assert.equal(meta.topics[0].partitions.length, 3);

    await producer.connect();
    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}` }));
    await producer.send({ topic: 'orders', acks: -1, messages });
    const offsets = await admin.fetchTopicOffsets('orders');
    assert.equal(offsets.reduce((n, p) => n + Number(p.high), 0), 30);

    await consumer.connect();
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    const seen = [];
    await new Promise((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(message.value.toString());
            if (seen.length === 30) resolve();
          },
        })
        .catch(reject);
    });
    assert.deepEqual(seen.sort(), messages.map((m) => m.value).sort());
    await consumer.disconnect();

    // The group committed what it read, and is now empty.
    const committed = await admin.fetchOffsets({ groupId: 'billing', topics: ['orders'] });
    const sum = committed[0].partitions.reduce((n, p) => n + Number(p.offset), 0);
    assert.equal(sum, 30);
    const groups = await admin.describeGroups(['billing']);
    assert.equal(groups.groups[0].state, 'Empty');
  } finally {
    await producer.disconnect();
    await consumer.disconnect();
    await admin.disconnect();
    await broker.close();
  }
});
