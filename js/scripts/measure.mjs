// Prints what starting a broker costs: the time from Broker.start() to the
// first answered ApiVersions (the first start compiles the wasm; later
// ones reuse it), and the resident memory it adds. A figure, never a test.
import net from 'node:net';
import { once } from 'node:events';
import { Broker } from '../index.mjs';

function apiVersions() {
  const b = Buffer.alloc(14);
  b.writeInt32BE(10, 0);
  b.writeInt16BE(18, 4);
  b.writeInt16BE(0, 6);
  b.writeInt32BE(1, 8);
  b.writeInt16BE(-1, 12);
  return b;
}

async function firstAnswer() {
  const t0 = performance.now();
  const broker = await Broker.start();
  const s = net.connect(broker.port, '127.0.0.1');
  await once(s, 'connect');
  s.write(apiVersions());
  let got = Buffer.alloc(0);
  while (got.length < 4 || got.length < 4 + got.readInt32BE(0)) {
    const [chunk] = await once(s, 'data');
    got = Buffer.concat([got, chunk]);
  }
  const ms = performance.now() - t0;
  s.destroy();
  return { broker, ms };
}

const mb = (n) => (n / 1048576).toFixed(1);
globalThis.gc?.();
const rss0 = process.memoryUsage().rss;
const first = await firstAnswer();
const rss1 = process.memoryUsage().rss;
const again = [];
for (let i = 0; i < 5; i++) again.push(await firstAnswer());
const rss2 = process.memoryUsage().rss;
const median = again.map((a) => a.ms).sort((x, y) => x - y)[2];
console.log(`start() to first ApiVersions answer: ${first.ms.toFixed(1)} ms first (wasm compiled), ${median.toFixed(1)} ms median of the next 5`);
console.log(`RSS: ${mb(rss0)} MB before, ${mb(rss1)} MB with one broker (+${mb(rss1 - rss0)} MB), ${mb(rss2)} MB with six (+${mb((rss2 - rss1) / 5)} MB each)`);
for (const b of [first, ...again]) await b.broker.close();
