// Time to annotate a 1 MB Produce request in the playground page, measured
// in Debian's Chromium (scripts/bench-web starts the server and runs this):
//
//   node bench.mjs URL [MEGABYTES]
//
// Prints the .wasm size the page loaded and, for a Produce v9 request
// holding one uncompressed record batch of 100-byte records (valid
// CRC-32C), the median of 7 runs of: annotate alone (wasm, the flat tree
// indexed by frameview.js's Tree), and explain (annotate plus building the hex view and field tree the
// page shows), with the goal beside each. A figure, not a pass/fail test.

import { launch, open } from "./common.mjs";

const [url, mb = "1"] = process.argv.slice(2);
const target = Math.round(Number(mb) * 1024 * 1024);

// CRC-32C (Castagnoli), as record batches use.
const table = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32c = (b) => {
  let c = 0xffffffff;
  for (const x of b) c = table[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};

function varint(out, v) {
  let z = (v << 1) ^ (v >> 31);
  z >>>= 0;
  while (z >= 0x80) { out.push((z & 0x7f) | 0x80); z >>>= 7; }
  out.push(z);
}

/// A Produce v9 request frame of about `size` bytes.
function produceFrame(size) {
  const records = [];
  const value = Buffer.from("x".repeat(100));
  let i = 0;
  while (records.length < size - 200) {
    const body = [0];
    varint(body, i); // timestamp delta
    varint(body, i); // offset delta
    varint(body, -1); // null key
    varint(body, value.length);
    body.push(...value);
    varint(body, 0); // no headers
    varint(records, body.length);
    records.push(...body);
    i++;
  }
  const count = i;
  const after = Buffer.alloc(49);
  // attributes(2) lastOffsetDelta(4) baseTs(8) maxTs(8) pid(8) epoch(2) seq(4) count(4)
  after.writeInt16BE(0, 0);
  after.writeInt32BE(count - 1, 2);
  after.writeBigInt64BE(1700000000000n, 6);
  after.writeBigInt64BE(1700000000000n + BigInt(count - 1), 14);
  after.writeBigInt64BE(-1n, 22);
  after.writeInt16BE(-1, 30);
  after.writeInt32BE(-1, 32);
  after.writeInt32BE(count, 36);
  const crcd = Buffer.concat([after.subarray(0, 40), Buffer.from(records)]);
  const head = Buffer.alloc(21);
  head.writeBigInt64BE(0n, 0); // base offset
  head.writeInt32BE(9 + crcd.length, 8); // batch length: epoch(4) magic(1) crc(4) + rest
  head.writeInt32BE(-1, 12); // partition leader epoch
  head.writeInt8(2, 16); // magic
  head.writeUInt32BE(crc32c(crcd), 17);
  const batch = Buffer.concat([head, crcd]);
  const uv = (n) => { const o = []; while (n >= 0x80) { o.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); } o.push(n); return Buffer.from(o); };
  const topic = Buffer.from("bench");
  const body = Buffer.concat([
    Buffer.from([0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x01]), // api 0 v9 corr 1
    Buffer.from([0x00, 0x05]), Buffer.from("bench"), Buffer.from([0x00]), // client id, tags
    Buffer.from([0x00, 0xff, 0xff, 0x00, 0x00, 0x75, 0x30]), // null txn id, acks -1, timeout
    Buffer.from([0x02]), uv(topic.length + 1), topic, // one topic
    Buffer.from([0x02, 0x00, 0x00, 0x00, 0x00]), // one partition, index 0
    uv(batch.length + 1), batch, Buffer.from([0x00, 0x00, 0x00]), // records, tags
  ]);
  const size4 = Buffer.alloc(4);
  size4.writeInt32BE(body.length);
  return { frame: Buffer.concat([size4, body]), count };
}

const { frame, count } = produceFrame(target);
if (process.env.SPATE_BENCH_DUMP) {
  // Writes the frame instead, for timing the annotator outside the browser.
  (await import("node:fs")).writeFileSync(process.env.SPATE_BENCH_DUMP, frame);
  process.exit(0);
}
const browser = await launch();
try {
  const page = await open(browser, url);
  const wasmBytes = await page.evaluate(async () => (await (await fetch("pkg/spate_wasm_bg.wasm")).arrayBuffer()).byteLength);
  const r = await page.evaluate(async (bytes) => {
    const data = new Uint8Array(bytes);
    const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
    const ann = [], full = [];
    let spans = 0, error = null;
    for (let i = 0; i < 7; i++) {
      let t = performance.now();
      const a = new window.spate.Tree(window.spate.wasm.annotate(data, { direction: "request", sizePrefix: "auto" }));
      ann.push(performance.now() - t);
      error = a.error ? a.error.message : null;
      a.free();
      t = performance.now();
      window.spate.explainBytes(data);
      await new Promise((res) => requestAnimationFrame(() => setTimeout(res, 0)));
      full.push(performance.now() - t);
      spans = window.spate.reqView.count;
    }
    return { annotate: median(ann), explain: median(full), spans, error, title: document.querySelector("#req-title").textContent };
  }, [...frame]);
  if (r.error) throw new Error(`the benchmark frame did not annotate: ${r.error}`);
  console.log(`wasm: ${wasmBytes} bytes (${(wasmBytes / 1048576).toFixed(2)} MB) uncompressed; goal under 1.5 MB`);
  console.log(`frame: ${r.title}, ${count} records of 100 bytes, ${r.spans} spans`);
  console.log(`annotate (wasm, flat tree indexed in JS), median of 7: ${r.annotate.toFixed(1)} ms`);
  console.log(`explain in the page (annotate + hex view + tree, to next frame), median of 7: ${r.explain.toFixed(1)} ms; goal under 100 ms`);
} finally {
  await browser.close();
}
