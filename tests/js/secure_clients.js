// kafkajs over a secured listener, for tests/tests/e2e/sasl.rs.
//
// Usage: node secure_clients.js BOOTSTRAP TOPIC SETTINGS_JSON
//
// SETTINGS_JSON: {"ssl": {"ca": PATH}?, "sasl": {"mechanism":
// "plain"|"scram-sha-256"|"scram-sha-512", "username", "password"}?}.
// Produces three records, reads them back, prints one JSON line
// {"produced": [...], "consumed": [...]} or {"error": "..."} (exit 2).

const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [bootstrap, topic, json] = process.argv.slice(2);
  const settings = JSON.parse(json);
  const config = { clientId: 'spate-secure', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } };
  if (settings.ssl) {
    config.ssl = { ca: [fs.readFileSync(settings.ssl.ca, 'utf8')] };
  }
  if (settings.sasl) {
    config.sasl = settings.sasl;
  }
  const kafka = new Kafka(config);
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const sent = await producer.send({ topic, acks: -1, messages: [0, 1, 2].map((i) => ({ value: `v${i}` })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `g-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out consuming')), 20000);
    consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value.toString());
        if (values.length >= 3) { clearTimeout(timer); resolve(); }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  const base = Number(sent[0].baseOffset);
  console.log(JSON.stringify({ produced: [base, base + 1, base + 2], consumed: values }));
}

main().catch((e) => {
  console.log(JSON.stringify({ error: `${e.name}: ${e.message}` }));
  process.exit(2);
});
