// Prints what starting a broker costs, as ONE JSON line (a figure, never a
// test; scripts/bench reads it):
//
//   import_ms              `await import('spate-broker')` in a fresh process
//                          (it begins compiling the wasm, in the background)
//   start_ms               the first `await Broker.start()`, right after the
//                          import: what is left of compiling the wasm, then
//                          the broker and its listening socket
//   first_api_versions_ms  from that start() call to the first ApiVersions
//                          answered over a real TCP socket
//   process_ms             from the process's start (performance's time
//                          origin) to that answer: node's own start-up too
//   rss_added_kib          resident memory added from before the import to
//                          that answer (the module, its memory, the broker)
//   anon_added_kib, file_added_kib
//                          (Linux) the same split as /proc/self/status
//                          does: anonymous memory (the process's own) and
//                          pages of files mapped, here nearly all node's
//                          own code paged in (shared with every process)
//   next_start_ms, next_first_api_versions_ms, next_rss_added_kib
//                          the same for each later broker in the process
//                          (median of 5; the module is loaded by then)
import net from 'node:net';
import fs from 'node:fs';
import { once } from 'node:events';

/** RssAnon and RssFile of /proc/self/status, in KiB ({} elsewhere: null in the line). */
function rssParts() {
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const kib = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)[1]);
    return { anon: kib('RssAnon'), file: kib('RssFile') };
  } catch {
    return {};
  }
}

function apiVersions() {
  const b = Buffer.alloc(14);
  b.writeInt32BE(10, 0);
  b.writeInt16BE(18, 4);
  b.writeInt16BE(0, 6);
  b.writeInt32BE(1, 8);
  b.writeInt16BE(-1, 12);
  return b;
}

async function firstAnswer(Broker) {
  const t0 = performance.now();
  const broker = await Broker.start();
  const started = performance.now();
  const s = net.connect(broker.port, '127.0.0.1');
  await once(s, 'connect');
  s.write(apiVersions());
  let got = Buffer.alloc(0);
  while (got.length < 4 || got.length < 4 + got.readInt32BE(0)) {
    const [chunk] = await once(s, 'data');
    got = Buffer.concat([got, chunk]);
  }
  const answered = performance.now();
  s.destroy();
  return { broker, start: started - t0, answer: answered - t0, sinceProcess: answered };
}

const round = (x) => Math.round(x * 100) / 100;
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const parts0 = rssParts();
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
const { Broker } = await import('../index.mjs');
const importMs = performance.now() - t0;
const first = await firstAnswer(Broker);
const rss1 = process.memoryUsage().rss;
const parts1 = rssParts();
const again = [];
for (let i = 0; i < 5; i++) again.push(await firstAnswer(Broker));
const rss2 = process.memoryUsage().rss;
console.log(JSON.stringify({
  runtime: 'node',
  import_ms: round(importMs),
  start_ms: round(first.start),
  first_api_versions_ms: round(first.answer),
  process_ms: round(first.sinceProcess),
  rss_added_kib: Math.round((rss1 - rss0) / 1024),
  anon_added_kib: parts1.anon - parts0.anon,
  file_added_kib: parts1.file - parts0.file,
  next_start_ms: round(median(again.map((a) => a.start))),
  next_first_api_versions_ms: round(median(again.map((a) => a.answer))),
  next_rss_added_kib: Math.round((rss2 - rss1) / 5 / 1024),
  node: process.version,
}));
for (const b of [first, ...again]) await b.broker.close();
