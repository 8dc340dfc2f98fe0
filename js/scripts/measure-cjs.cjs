'use strict';
// js/scripts/measure.mjs's first-broker figures for a CommonJS process
// (`require('spate-broker')`, as a kafkajs test file is), as ONE JSON line:
// import_ms (the require), start_ms, first_api_versions_ms,
// rss_added_kib, anon_added_kib, file_added_kib, measured the same way
// (see there). A CommonJS process has not started Node's ES module loader,
// so what the package needs of Node is counted here and not there.
const net = require('node:net');
const fs = require('node:fs');
const { once } = require('node:events');

function rssParts() {
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const kib = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)[1]);
    return { anon: kib('RssAnon'), file: kib('RssFile') };
  } catch {
    return {};
  }
}

(async () => {
  const round = (x) => Math.round(x * 100) / 100;
  const parts0 = rssParts();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const { Broker } = require('../index.cjs');
  const t1 = performance.now();
  const broker = await Broker.start();
  const t2 = performance.now();
  const s = net.connect(broker.port, '127.0.0.1');
  await once(s, 'connect');
  // ApiVersions v0, correlation id 1, no client id.
  s.write(Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff]));
  let got = Buffer.alloc(0);
  while (got.length < 4 || got.length < 4 + got.readInt32BE(0)) {
    const [chunk] = await once(s, 'data');
    got = Buffer.concat([got, chunk]);
  }
  const t3 = performance.now();
  const rss1 = process.memoryUsage().rss;
  const parts1 = rssParts();
  s.destroy();
  console.log(JSON.stringify({
    runtime: 'node-cjs',
    import_ms: round(t1 - t0),
    start_ms: round(t2 - t1),
    first_api_versions_ms: round(t3 - t1),
    rss_added_kib: Math.round((rss1 - rss0) / 1024),
    anon_added_kib: parts1.anon - parts0.anon,
    file_added_kib: parts1.file - parts0.file,
    node: process.version,
  }));
  await broker.close();
})();
