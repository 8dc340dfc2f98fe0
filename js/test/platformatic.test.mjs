// @platformatic/kafka (ESM) against the in-process broker: admin, produce,
// and a consumer group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, Producer, Consumer, stringSerializers, stringDeserializers } from '@platformatic/kafka';
import { Broker } from 'spate-broker';

test('@platformatic/kafka: admin, produce, consumer group', async () => {
  const broker = await Broker.start({ autoCreate: false });
  const common = { clientId: 'spate-broker-test', bootstrapBrokers: [broker.bootstrap] };
  const admin = new Admin(common);
  const producer = new Producer({ ...common, serializers: stringSerializers });
  const consumer = new Consumer({ ...common, groupId: 'readers', deserializers: stringDeserializers });
  try {
    await admin.createTopics({ topics: ['events'], partitions: 2, replicas: 1 });
    const topics = await admin.listTopics();
    assert.ok(topics.includes('events'), `listed: ${topics}`);

    const messages = Array.from({ length: 20 }, (_, i) => ({ topic: 'events', key: `k${i}`, value: `v${i}`, headers: { n: `${i}` } }));
    await producer.send({ messages });

    const stream = await consumer.consume({ topics: ['events'], mode: 'earliest', autocommit: false, sessionTimeout: 6000, heartbeatInterval: 500 });
    const seen = [];
    for await (const m of stream) {
      seen.push(`${m.key}=${m.value}`);
      if (seen.length === 20) break;
    }
    await stream.close();
    assert.deepEqual(seen.sort(), messages.map((m) => `${m.key}=${m.value}`).sort());
  } finally {
    await consumer.close(true);
    await producer.close();
    await admin.close();
    await broker.close();
  }
});
