// Prints what the `dir` option costs, as ONE JSON line (a figure, never a
// test), each figure for a broker in memory and one over a directory
// (under $TMPDIR, or the directory given as the first argument):
//
//   (each run twice, alternating, the second counted)
//   produce_ms       median of 300 kafkajs sends of one message, acks=all,
//                    one after the other (each waits for its fdatasync)
//   produce_1k_ms    one send of 1000 messages of 100 bytes, acks=all
//   start_ms         median of 5 Broker.start() over the directory those wrote
//                    (everything read back, nothing checked: a clean close)
//   start_unclean_ms the same without the clean shutdown marker (every
//                    batch's CRC checked)
//   dir_kib          what the directory holds then
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Broker } from '../index.mjs';

const root = process.argv[2] ?? os.tmpdir();

async function sends(options) {
  const broker = await Broker.start({ topics: ['m'], ...options });
  const producer = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  const times = [];
  for (let i = 0; i < 300; i++) {
    const t = performance.now();
    await producer.send({ topic: 'm', acks: -1, messages: [{ value: `v${i}` }] });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const value = 'x'.repeat(100);
  const t = performance.now();
  await producer.send({ topic: 'm', acks: -1, messages: Array.from({ length: 1000 }, () => ({ value })) });
  const batch = performance.now() - t;
  await producer.disconnect();
  await broker.close();
  return { produce_ms: +times[150].toFixed(3), produce_1k_ms: +batch.toFixed(2) };
}

/** Median of 5 starts over `dir`; `unclean`: its clean shutdown marker removed before each. */
async function start(dir, unclean) {
  const times = [];
  for (let i = 0; i < 5; i++) {
    if (unclean) fs.rmSync(path.join(dir, '.kafka_cleanshutdown'));
    const t = performance.now();
    const b = await Broker.start({ dir });
    times.push(performance.now() - t);
    await b.close();
  }
  return +times.sort((a, b) => a - b)[2].toFixed(2);
}

// Each run twice, alternating, the second counted: the first warms V8.
const dir = fs.mkdtempSync(path.join(root, 'spate-measure-'));
await sends({});
const warm = fs.mkdtempSync(path.join(root, 'spate-warm-'));
await sends({ dir: warm });
fs.rmSync(warm, { recursive: true });
const memory = await sends({});
const disk = await sends({ dir });
const startClean = await start(dir, false);
const startUnclean = await start(dir, true);
const kib = Math.round(
  fs.readdirSync(dir, { recursive: true }).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0) / 1024,
);
fs.rmSync(dir, { recursive: true });
console.log(JSON.stringify({
  dir_fs: root,
  memory,
  dir: { ...disk, start_ms: startClean, start_unclean_ms: startUnclean, dir_kib: kib },
}));
