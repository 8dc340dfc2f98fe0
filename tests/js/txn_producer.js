// Kafka transactions driven with kafkajs, for tests/tests/e2e/transactions.rs.
//
// usage: node txn_producer.js BROKER
//
// One transactional producer writes c0..c4 (committed), a0..a4 (aborted)
// and c5..c9 (committed) to the one partition of topic js-txn; a plain
// producer then appends END. Prints, as one JSON line, the values before
// END as two consumers (groups of their own, from the beginning) read
// them: the default (read_committed) and readUncommitted: true.
const { Kafka, logLevel } = require("kafkajs");

const TOPIC = "js-txn";

function values(prefix, from, to) {
  const out = [];
  for (let i = from; i < to; i++) out.push({ value: `${prefix}${i}`, partition: 0 });
  return out;
}

async function inTransaction(producer, messages, end) {
  const txn = await producer.transaction();
  await txn.send({ topic: TOPIC, messages });
  await (end === "commit" ? txn.commit() : txn.abort());
}

async function read(kafka, readUncommitted) {
  const consumer = kafka.consumer({
    groupId: `js-reader-${readUncommitted}`,
    readUncommitted,
    sessionTimeout: 6000,
    heartbeatInterval: 1000,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const got = [];
  const done = new Promise((resolve) => {
    const timer = setTimeout(() => resolve([...got, "NO MARK"]), 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        const v = message.value.toString();
        if (v === "END") {
          clearTimeout(timer);
          resolve([...got]);
        } else {
          got.push(v);
        }
      },
    });
  });
  const result = await done;
  await consumer.disconnect();
  return result;
}

async function main() {
  const broker = process.argv[2];
  const kafka = new Kafka({ clientId: "spate-txn", brokers: [broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer({
    transactionalId: "tx-kafkajs",
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  await inTransaction(producer, values("c", 0, 5), "commit");
  await inTransaction(producer, values("a", 0, 5), "abort");
  await inTransaction(producer, values("c", 5, 10), "commit");
  await producer.disconnect();
  const plain = kafka.producer();
  await plain.connect();
  await plain.send({ topic: TOPIC, acks: -1, messages: [{ value: "END", partition: 0 }] });
  await plain.disconnect();
  const committed = await read(kafka, false);
  const uncommitted = await read(kafka, true);
  console.log(JSON.stringify({ committed, uncommitted }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
