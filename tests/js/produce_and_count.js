// kafkajs against spate serve: create a topic, produce 1,000 messages in
// batches, then read the offsets back through the admin API. (A kafkajs
// consumer always joins a group; that lands with the consumer-group work.)
const { Kafka, logLevel } = require("kafkajs");

async function main() {
  const broker = process.argv[2];
  const kafka = new Kafka({ clientId: "spate-e2e", brokers: [broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "js", numPartitions: 2 }] });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  for (let b = 0; b < 10; b++) {
    const messages = [];
    for (let i = 0; i < 100; i++) {
      const n = b * 100 + i;
      messages.push({ key: `k${n % 2}`, value: `v${n}`, headers: { n: `${n}` } });
    }
    await producer.send({ topic: "js", acks: -1, messages });
  }
  await producer.disconnect();
  const offsets = await admin.fetchTopicOffsets("js");
  const total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  console.log(`topics ${JSON.stringify(await admin.listTopics())}`);
  console.log(`total ${total}`);
  await admin.disconnect();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
