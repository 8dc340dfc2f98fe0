// One kafkajs consumer-group member for the end-to-end tests, as a process
// of its own; it speaks the same line protocol as tests/py/group_member.py.
//
// usage: node group_member.js BROKER GROUP TOPIC [PROCESS_MS]
//
// The member subscribes from the beginning with a 6 s session timeout and
// 1 s heartbeats and no automatic commits; for each record it waits
// PROCESS_MS, prints it, commits the next offset and prints that the commit
// returned. Lines end with the wall-clock time in milliseconds:
//   assigned P,P,...  |  got P OFFSET VALUE  |  committed P NEXT
//   commit-failed P NEXT ERROR  |  closed
// `close` on stdin, or stdin closing, disconnects (leaves the group) and exits.
const { Kafka, logLevel } = require("kafkajs");

const say = (...words) => process.stdout.write(`${[...words, Date.now()].join(" ")}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const [broker, group, topic, processMs] = process.argv.slice(2);
  const delay = Number(processMs || 0);
  const kafka = new Kafka({ clientId: "member-kafkajs", brokers: [broker], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: group,
    sessionTimeout: 6000,
    heartbeatInterval: 1000,
    rebalanceTimeout: 30000,
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const parts = (e.payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b);
    say("assigned", parts.join(","));
  });
  let closing = null;
  const close = () => {
    closing = closing || consumer.disconnect().then(() => {
      say("closed");
      process.exit(0);
    });
  };
  process.stdin.on("data", (d) => {
    if (d.toString().split("\n").includes("close")) close();
  });
  process.stdin.on("end", close);
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      await sleep(delay);
      say("got", partition, message.offset, message.value.toString());
      const next = (BigInt(message.offset) + 1n).toString();
      try {
        await consumer.commitOffsets([{ topic, partition, offset: next }]);
        say("committed", partition, next);
      } catch (e) {
        say("commit-failed", partition, next, String(e.type || e.name));
        throw e;
      }
    },
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
