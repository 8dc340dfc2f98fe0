// kafkajs over an SSL listener: create a topic, produce, and consume it
// back in a group.
//
// usage: node ssl_produce_consume.js SSL_ADDR CA_PEM TOPIC
const fs = require("fs");
const { Kafka, logLevel } = require("kafkajs");

async function main() {
  const [broker, ca, topic] = process.argv.slice(2);
  const kafka = new Kafka({
    clientId: "spate-e2e-ssl",
    brokers: [broker],
    ssl: { ca: [fs.readFileSync(ca, "utf-8")], servername: "localhost" },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const messages = [];
  for (let i = 0; i < 20; i++) messages.push({ value: `js${i}` });
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: "g-js", sessionTimeout: 6000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${got.length}`)), 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value.toString());
        if (got.length === 20) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  console.log(`kafkajs got ${got.length} ${got[0]} ${got[19]}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
