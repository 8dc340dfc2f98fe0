// The README's complete test, kept word for word (README.md, "A complete test").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka } from 'kafkajs';
import { Broker } from 'spate-broker';

test('a message goes in and comes out', async () => {
  const broker = await Broker.start({ topics: [{ name: 'greetings', partitions: 1 }] });
  const kafka = new Kafka({ brokers: [broker.bootstrap] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'greetings', messages: [{ value: 'hello' }] });
  const consumer = kafka.consumer({ groupId: 'readers' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'greetings', fromBeginning: true });
  const got = await new Promise((resolve) => consumer.run({ eachMessage: async ({ message }) => resolve(message.value.toString()) }));
  assert.equal(got, 'hello');
  await Promise.all([producer.disconnect(), consumer.disconnect()]);
  await broker.close();
});
