// Moves partition 0 of a topic with kafkajs' admin client
// (AlterPartitionReassignments, sent to the controller), then lists the
// moves in progress (ListPartitionReassignments) and prints one JSON line
// each: `{"altered":...}` (or `{"error":...}`), then `{"listed":[...]}`.
// Usage: node reassign.js BOOTSTRAP TOPIC REPLICAS (comma-separated ids)
const { Kafka, logLevel } = require('kafkajs')

const [bootstrap, topic, replicas] = process.argv.slice(2)

async function main() {
  const kafka = new Kafka({
    clientId: 'spate-e2e-reassign',
    brokers: bootstrap.split(','),
    logLevel: logLevel.NOTHING,
  })
  const admin = kafka.admin()
  await admin.connect()
  try {
    await admin.alterPartitionReassignments({
      topics: [
        { topic, partitionAssignment: [{ partition: 0, replicas: replicas.split(',').map(Number) }] },
      ],
    })
    console.log(JSON.stringify({ altered: true }))
  } catch (e) {
    console.log(JSON.stringify({ error: e.type || e.message }))
  }
  const listed = await admin.listPartitionReassignments({ topics: [{ topic, partitions: [0] }] })
  console.log(JSON.stringify({ listed: listed.topics }))
  await admin.disconnect()
}

main().catch(e => {
  console.error(e)
  process.exit(1)
})
