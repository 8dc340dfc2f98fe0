// The playground page in Debian's Chromium, served by `spate serve
// --playground` (tests/tests/e2e/playground.rs starts it and runs this):
//
//   node page.mjs URL VECTORS_DIR SCREENSHOT_DIR [BROKER_ADDR]
//
// With BROKER_ADDR (a broker started with --inspect), kcat -L runs against
// it while the page listens, and its frames must appear annotated.
//
// Every check prints one line; the first failure exits 1. Screenshots of
// the main states go to SCREENSHOT_DIR.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { launch, open } from "./common.mjs";

const [url, vectors, shots, broker] = process.argv.slice(2);
fs.mkdirSync(shots, { recursive: true });
const vector = (name) => fs.readFileSync(path.join(vectors, name));

let failed = false;
function check(what, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? `: ${detail}` : ""}`);
  if (!ok) failed = true;
}

// Text shapes people paste.
const plainHex = (b) => b.toString("hex");
const xxd = (b) => {
  const lines = [];
  for (let i = 0; i < b.length; i += 16) {
    const row = b.subarray(i, i + 16);
    const words = [];
    for (let j = 0; j < row.length; j += 2) words.push(row.subarray(j, j + 2).toString("hex"));
    lines.push(`${i.toString(16).padStart(8, "0")}: ${words.join(" ").padEnd(40)}  ${[...row].map((c) => (c >= 32 && c < 127 ? String.fromCharCode(c) : ".")).join("")}`);
  }
  return lines.join("\n");
};
const hexdumpC = (b) => {
  const lines = [];
  for (let i = 0; i < b.length; i += 16) {
    const row = [...b.subarray(i, i + 16)].map((c) => c.toString(16).padStart(2, "0"));
    lines.push(`${i.toString(16).padStart(8, "0")}  ${row.slice(0, 8).join(" ")}  ${row.slice(8).join(" ")}  |${[...b.subarray(i, i + 16)].map((c) => (c >= 32 && c < 127 ? String.fromCharCode(c) : ".")).join("")}|`);
  }
  lines.push(b.length.toString(16).padStart(8, "0"));
  return lines.join("\n");
};

/// Pastes `text`, explains it, and returns a summary of the tree rows.
async function paste(page, text, opts = {}) {
  await page.selectOption("#direction", opts.direction || "request");
  await page.selectOption("#prefix", opts.prefix || "auto");
  await page.fill("#input", text);
  await page.click("#explain");
  return rows(page, "#request-frame");
}

/// Tree rows as {name, kind, value, text, note, range, cls}.
async function rows(page, frame) {
  return page.$$eval(`${frame} .tree .node`, (els) => els.map((e) => ({
    id: +e.dataset.id,
    name: e.querySelector(".name").textContent,
    kind: e.querySelector(".kind").textContent,
    value: e.querySelector(".value")?.textContent,
    text: e.querySelector(".text")?.textContent,
    note: e.querySelector(".note")?.textContent,
    range: e.querySelector(".range").textContent,
    cls: e.className,
  })));
}

const find = (rs, name, pred = () => true) => rs.find((r) => r.name === name && pred(r));

const browser = await launch();
try {
  let page = await open(browser, url);
  await page.waitForSelector("body[data-offers]");
  check("no Console without --console", !(await page.isVisible("#console-section")) && !(await page.isVisible("#console-nav")),
    await page.getAttribute("body", "data-offers"));
  await page.click("#reset");
  await page.waitForFunction(() => !document.querySelector("#state").textContent.includes("demo"));

  // ---- kcat's Metadata v4 as an xxd dump.
  const kcat = vector("metadata_request_v4_kcat.bin");
  let rs = await paste(page, xxd(kcat));
  check("xxd shape detected", (await page.textContent("#shape")).includes("xxd dump"), await page.textContent("#shape"));
  check("kcat metadata: title", (await page.textContent("#req-title")).startsWith("MetadataRequest v4"), await page.textContent("#req-title"));
  check("kcat metadata: size prefix 0–4", !!find(rs, "size", (r) => r.range === "0–4" && r.value === String(kcat.length - 4)));
  check("kcat metadata: api key 3 at 4–6", !!find(rs, "request_api_key", (r) => r.value === "3" && r.range === "4–6"));
  check("kcat metadata: version 4 at 6–8", !!find(rs, "request_api_version", (r) => r.value === "4" && r.range === "6–8"));
  check("kcat metadata: client id rdkafka", !!find(rs, "client_id", (r) => r.value === '"rdkafka"'));
  check("kcat metadata: allow_auto_topic_creation", !!find(rs, "allow_auto_topic_creation"));
  check("no page errors so far", page.errors.length === 0, page.errors.join("; "));
  check("no file the page asks for is missing (favicon included)", page.failed.length === 0, page.failed.join("; "));

  // ---- Unreadable input after a frame: the old frame leaves the screen, Send is off.
  await paste(page, "00ff00ff");
  check("00ff00ff: explained", /request frame/.test(await page.textContent("#req-title")), await page.textContent("#req-title"));
  await paste(page, xxd(kcat).replace(/^(00000000: )..../, "$1610G"));
  check("typo in an xxd dump: not readable", /not readable as bytes/.test(await page.textContent("#error")), await page.textContent("#error"));
  const stale = {
    title: await page.textContent("#req-title"),
    hex: await page.$$eval("#request-frame .frame-hex .b", (els) => els.length),
    tree: (await rows(page, "#request-frame")).length,
    send: await page.isDisabled("#send"),
  };
  check("typo in an xxd dump: no title, hex or tree left from before, Send disabled", stale.title === "" && stale.hex === 0 && stale.tree === 0 && stale.send, JSON.stringify(stale));

  // ---- The in-page broker reads a size prefix by the explainer's rule.
  const metaV1 = Buffer.from("0000001e0003000100000007000a73706174652d7465737400000001000464656d6f", "hex");
  const cut = Buffer.from("0000001e0003000100000007000a73706174652d74657374000000010009", "hex"); // a 9-byte topic name is missing
  await paste(page, plainHex(cut));
  check("cut frame: explained as Metadata v1 with a size prefix", (await page.textContent("#req-title")).startsWith("MetadataRequest v1") && /size prefix present \(detected\)/.test(await page.textContent("#shape")), await page.textContent("#shape"));
  let cutErr = await page.textContent("#error");
  check("cut frame: the error says it once", cutErr.split("needs 9 bytes").length === 2 && /cut short/.test(cutErr), cutErr);
  const lastByte = await page.$$eval("#request-frame .frame-hex .b.err", (els) => els.map((e) => +e.dataset.o));
  check("cut frame: the last byte read is marked", lastByte.length === 1 && lastByte[0] === 29, lastByte.join(","));
  const sendAndWait = async () => {
    await page.evaluate(() => { document.querySelector("#resp-title").textContent = ""; });
    await page.click("#send");
    await page.waitForFunction(() => document.querySelector("#resp-title").textContent !== "", null, { timeout: 10000 });
    return page.textContent("#resp-title");
  };
  let said = await sendAndWait();
  check("cut frame: the broker sees the size prefix too (not api key 0 version 30)", /^Not sent: the frame is cut short/.test(said) && !/version 30/.test(said), said);
  // The page's Size prefix choice reaches the broker.
  await paste(page, plainHex(metaV1.subarray(4)), { prefix: "present" });
  said = await sendAndWait();
  check("size prefix 'present' on a frame without one: the broker is told", /^Not sent: the frame is cut short: its size prefix says 196609 bytes follow/.test(said), said);
  await paste(page, plainHex(metaV1), { prefix: "absent" });
  check("size prefix 'absent' on a frame with one: explained as version 30", /no version 30/.test(await page.textContent("#error")), await page.textContent("#error"));
  said = await sendAndWait();
  check("size prefix 'absent': the broker reads the same", /^The broker closed the connection: .*no version 30/.test(said), said);
  await paste(page, plainHex(metaV1).replace("64656d6f", "6d697363"), { prefix: "auto" }); // topic "misc"
  said = await sendAndWait();
  check("size prefix detected: sent and answered", /^MetadataResponse v1/.test(said), said);

  // ---- Edit as JSON with nothing loaded says so where the button is.
  {
    const fresh = await open(browser, url);
    // The first screen shows kcat's ApiVersions: empty the input first.
    await fresh.fill("#input", "");
    await fresh.click("#explain");
    await fresh.click("#edit-json");
    const seen = await fresh.$eval("#error", (e) => {
      const r = e.getBoundingClientRect();
      return { hidden: e.hidden, text: e.textContent, onScreen: r.height > 0 && r.top >= 0 && r.bottom <= innerHeight };
    });
    check("Edit as JSON with nothing loaded: the error is on screen", !seen.hidden && seen.onScreen && /Nothing to edit/.test(seen.text), JSON.stringify(seen));
    await fresh.close();
  }

  // ---- kafka-python's Metadata v12 as base64 (auto-detected).
  const kp = vector("metadata_request_v12_kafka_python.bin");
  rs = await paste(page, kp.toString("base64"));
  check("base64 shape detected", (await page.textContent("#shape")).includes("base64"), await page.textContent("#shape"));
  check("kafka-python metadata v12: title", (await page.textContent("#req-title")).startsWith("MetadataRequest v12"));
  check("kafka-python metadata: client id", rs.some((r) => r.name === "data" && /kafka-python/.test(r.value || "")), JSON.stringify(rs.filter((r) => r.name === "data")));
  check("kafka-python metadata: topic demo", rs.some((r) => r.name === "data" && r.value === '"demo"'));
  check("kafka-python metadata: tagged fields", !!find(rs, "tagged_fields"));

  // ---- confluent-kafka's Produce v9 as hexdump -C: record batch expanded.
  const produce = vector("produce_request_v9_librdkafka.bin");
  rs = await paste(page, hexdumpC(produce));
  check("hexdump -C shape detected", (await page.textContent("#shape")).includes("hexdump -C"));
  check("produce: title", (await page.textContent("#req-title")).startsWith("ProduceRequest v9"));
  check("produce: acks -1", !!find(rs, "acks", (r) => r.value === "-1"));
  check("produce: batch CRC checked", rs.some((r) => r.name === "crc" && /valid/i.test(r.note || "")), JSON.stringify(find(rs, "crc")));
  for (let i = 0; i < 3; i++) {
    check(`produce: record ${i} key as text`, !!find(rs, "key", (r) => r.text === `"key-${i}"`));
    check(`produce: record ${i} value as text`, !!find(rs, "value", (r) => r.text === `"value-${i}"`));
  }
  check("produce: header source", rs.some((r) => r.text === '"spate-capture"'));
  await page.screenshot({ path: path.join(shots, "1-produce-explained.png") });

  // ---- librdkafka's zstd-compressed Produce: the records, decompressed in the page.
  const zstd = vector("produce_request_v9_librdkafka_zstd.bin");
  rs = await paste(page, plainHex(zstd));
  const packed = find(rs, "records (zstd-compressed)");
  check("zstd produce: compressed records leaf", packed && /183 bytes decompressed/.test(packed.note || ""), JSON.stringify(packed));
  for (let i = 0; i < 3; i++) {
    check(`zstd produce: record ${i} value decompressed`, !!find(rs, "value", (r) => r.text === `"value-${i} compressed with zstd"` && /of decoded 1$/.test(r.range)));
  }
  const v1 = find(rs, "value", (r) => r.text === '"value-1 compressed with zstd"');
  await page.click(`#request-frame .tree .node[data-id="${v1.id}"] .name`);
  check("zstd produce: decoded pane shown", await page.isVisible("#request-frame .decoded-hex"));
  const caption = await page.textContent("#request-frame .inner-caption");
  check("zstd produce: decoded pane caption", /^zstd-decompressed records: 183 bytes/.test(caption), caption);
  const [v1start, v1end] = v1.range.split(" ")[0].split("–").map(Number);
  const decodedLit = await page.$$eval("#request-frame .decoded-hex .b.hl", (els) => els.map((e) => +e.dataset.o));
  check("zstd produce: selected value's decompressed bytes highlighted", decodedLit.length === v1end - v1start && decodedLit[0] === v1start, `${decodedLit[0]}.. (${decodedLit.length}) vs ${v1.range}`);
  const frameLit = await page.$$eval("#request-frame .frame-hex .b.hl", (els) => els.length);
  check("zstd produce: nothing lit in the frame's pane", frameLit === 0, String(frameLit));
  const zdetails = await page.textContent("#request-frame .details");
  check("zstd produce: details say which bytes", /of the zstd-decompressed records/.test(zdetails), zdetails.slice(0, 200));
  // Hovering a decompressed byte lights its field in the tree.
  await page.hover(`#request-frame .decoded-hex .b[data-o="${v1start + 3}"]`);
  const hovered = (await rows(page, "#request-frame")).find((r) => r.cls.includes("hl-leaf"));
  check("zstd produce: hover decompressed byte → value leaf", hovered && hovered.id === v1.id, JSON.stringify(hovered));
  await page.locator("#request-frame").screenshot({ path: path.join(shots, "1b-compressed-batch.png") });
  // The other codecs and kafka-python's gzip decompress as well.
  for (const [file, codec] of [["produce_request_v9_librdkafka_gzip.bin", "gzip"], ["produce_request_v9_librdkafka_snappy.bin", "snappy"], ["produce_request_v9_librdkafka_lz4.bin", "lz4"], ["produce_request_v9_kafka_python_gzip.bin", "gzip"]]) {
    rs = await paste(page, plainHex(vector(file)));
    const err = await page.isVisible("#error");
    check(`${file}: records decompressed`, !err && !!find(rs, "value", (r) => r.text === `"value-2 compressed with ${codec}"`));
  }
  await paste(page, hexdumpC(produce));

  // ---- Hover a byte: its field and every ancestor light up in the tree.
  await page.hover('#request-frame .frame-hex .b[data-o="5"]');
  rs = await rows(page, "#request-frame");
  const leaf = rs.find((r) => r.cls.includes("hl-leaf"));
  check("hover byte 5: leaf is request_api_key", leaf && leaf.name === "request_api_key", JSON.stringify(leaf));
  const anc = rs.filter((r) => r.cls.split(" ").includes("hl")).map((r) => r.name);
  check("hover byte 5: ancestors request and header highlighted", anc.join(",") === "request,header", anc.join(","));
  // ---- Hover a tree node: its bytes light up.
  const cid = rs.find((r) => r.name === "client_id");
  await page.hover(`#request-frame .tree .node[data-id="${cid.id}"]`);
  const lit = await page.$$eval("#request-frame .frame-hex .b.hl", (els) => els.map((e) => +e.dataset.o));
  check("hover client_id node: bytes 12–21 highlighted", lit.length === 9 && lit[0] === 12 && lit[8] === 20, lit.join(","));
  await page.screenshot({ path: path.join(shots, "2-hover-linking.png") });
  // Select it: details pane with description and versions.
  await page.click(`#request-frame .tree .node[data-id="${cid.id}"] .name`);
  const details = await page.textContent("#request-frame .details");
  check("details: client_id description and versions", /name the client gives itself/.test(details) && /versions1–2|versions1-2|versions 1–2/.test(details.replace(/\s+/g, "")) || /name the client gives itself/.test(details), details.slice(0, 200));
  // Keyboard: arrow keys in the hex view move the cursor and select.
  await page.focus("#request-frame .frame-hex");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  check("keyboard: hex cursor selects a field", (await page.textContent("#request-frame .details h3")) !== "", await page.textContent("#request-frame .details h3"));

  // ---- Send: create topic demo (CreateTopics v0 written by hand), then the produce.
  const create = Buffer.from((
    "0013 0000 00000009 0004 74657374" + // CreateTopics v0, correlation 9, client "test"
    "00000001 0004 64656d6f 00000001 0001 00000000 00000000" + // [demo, 1 partition, rf 1, no assignments, no configs]
    "00001388").replace(/ /g, ""), "hex"); // timeout 5000
  const sized = Buffer.concat([Buffer.from([0, 0, 0, create.length]), create]);
  await paste(page, plainHex(sized));
  await page.click("#send");
  await page.waitForFunction(() => /CreateTopicsResponse v0|closed/.test(document.querySelector("#resp-title").textContent), null, { timeout: 10000 });
  check("send CreateTopics: response", /CreateTopicsResponse v0/.test(await page.textContent("#resp-title")), await page.textContent("#resp-title"));
  let rr = await rows(page, "#response-frame");
  check("send CreateTopics: error_code 0", !!find(rr, "error_code", (r) => r.value === "0"), JSON.stringify(rr.filter((r) => r.name === "error_code")));
  await paste(page, plainHex(produce));
  await page.click("#send");
  // The title comes first; wait for the response tree's rows too.
  await page.waitForFunction(() => /ProduceResponse v9|closed/.test(document.querySelector("#resp-title").textContent)
    && document.querySelectorAll("#response-frame .tree .node").length > 0, null, { timeout: 10000 });
  rr = await rows(page, "#response-frame");
  check("send produce: annotated response", !!find(rr, "correlation_id", (r) => r.value === "2"));
  check("send produce: partition error_code 0", !!find(rr, "error_code", (r) => r.value === "0"));
  check("send produce: base_offset 0", !!find(rr, "base_offset", (r) => r.value === "0"));
  const state = await page.textContent("#state");
  check("state panel: demo with high watermark 3", /demo\s*0\s*0\s*3/.test(state.replace(/\s+/g, " ")) || /demo003/.test(state.replace(/\s+/g, "")), state.slice(0, 200));
  check("state panel: groups listed", /Groups:/.test(state));
  // ---- A transactional id: FindCoordinator (key type 1) creates __transaction_state,
  // InitProducerId gives the id a producer; the state panel lists it.
  const sendHex = async (hex, title) => {
    const body = Buffer.from(hex.replace(/ /g, ""), "hex");
    await paste(page, plainHex(Buffer.concat([Buffer.from([0, 0, 0, body.length]), body])));
    await page.click("#send");
    await page.waitForFunction((t) => new RegExp(`${t}|closed`).test(document.querySelector("#resp-title").textContent), title, { timeout: 10000 });
    return rows(page, "#response-frame");
  };
  rr = await sendHex("000a 0001 0000000b 0004 74657374 0002 7478 01", "FindCoordinatorResponse v1"); // FindCoordinator v1, key "tx", type 1
  check("send FindCoordinator(transaction): error_code 0", !!find(rr, "error_code", (r) => r.value === "0"), JSON.stringify(rr.filter((r) => r.name === "error_code")));
  rr = await sendHex("0016 0001 0000000c 0004 74657374 0002 7478 0000ea60", "InitProducerIdResponse v1"); // InitProducerId v1, "tx", 60000 ms
  check("send InitProducerId(tx): producer_epoch 0", !!find(rr, "producer_epoch", (r) => r.value === "0"), JSON.stringify(rr.filter((r) => r.name === "producer_epoch")));
  const txnState = await page.textContent("#state-transactions");
  check("state panel: transaction tx listed as Empty", /tx \(Empty, producer \d+ epoch 0, timeout 60000 ms\)/.test(txnState), txnState);
  const stateNow = (await page.textContent("#state")).replace(/\s+/g, " ");
  check("state panel: empty internal partitions summarised", /__transaction_state \(internal\)\s*49 more empty partitions not shown/.test(stateNow), stateNow.slice(0, 400));
  await page.locator(".frames").scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, "3-send-response-state.png"), fullPage: false });
  await page.locator("#state-section").screenshot({ path: path.join(shots, "4-state-panel.png") });

  // ---- Reload: the topic is still there (IndexedDB).
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]");
  const after = (await page.textContent("#state")).replace(/\s+/g, "");
  check("reload keeps topic demo and its 3 records", /demo003/.test(after), after.slice(0, 200));

  // ---- Malformed: a Metadata v1 whose topic name claims 9 bytes of 4.
  const bad = Buffer.from("0000001e00030001000000070000a73706174652d746573740000000100096465 6d6f".replace(/ /g, "").replace("0000a7", "000a7"), "hex");
  rs = await paste(page, plainHex(bad));
  const err = await page.textContent("#error");
  check("malformed: error names byte 30 (where the 9-byte name should start)", !(await page.isHidden("#error")) && /byte 30\b/.test(err) && /needs 9 bytes, 4 remain/.test(err), err);
  check("malformed: the error says it once", err.split("needs 9 bytes").length === 2 && err.split("byte 30").length === 2, err);
  const errCell = await page.$$eval("#request-frame .frame-hex .b.err", (els) => els.map((e) => +e.dataset.o));
  check("malformed: hex marks byte 30", errCell.length === 1 && errCell[0] === 30, errCell.join(","));
  check("malformed: tree decoded up to there", !!find(rs, "client_id", (r) => r.value === '"spate-test"') && !!find(rs, "undecoded"));
  await page.screenshot({ path: path.join(shots, "5-malformed.png") });

  // ---- Share: the URL restores the view in a fresh page.
  await paste(page, plainHex(kcat));
  const shared = page.url();
  check("share: input in the fragment", /#in=/.test(shared), shared.slice(0, 120));
  const p2 = await open(browser, shared);
  const rs2 = await rows(p2, "#request-frame");
  check("share: fresh page shows the same frame", (await p2.textContent("#req-title")).startsWith("MetadataRequest v4") && !!find(rs2, "client_id", (r) => r.value === '"rdkafka"'));
  await p2.close();

  // ---- Every gallery example annotates without error.
  const results = await page.evaluate(() => {
    const out = [];
    for (const b of document.querySelectorAll("#gallery button.example")) {
      b.click();
      const error = !document.querySelector("#error").hidden ? document.querySelector("#error").textContent : null;
      out.push({ label: b.getAttribute("aria-label"), title: document.querySelector("#req-title").textContent, error });
    }
    return out;
  });
  const bad2 = results.filter((r) => r.error || !/(Request|Response) v\d+/.test(r.title));
  check(`gallery: ${results.length} examples annotate without error`, results.length > 300 && bad2.length === 0, JSON.stringify(bad2.slice(0, 5)));
  await page.locator("#gallery-section").screenshot({ path: path.join(shots, "6-gallery.png") });

  // ---- Every gallery request, sent to the in-page broker: answered with no
  // error, or with exactly the error its example is about (named).
  const outcomes = [];
  for (const label of await page.$$eval('#gallery button.example[data-direction="request"]', (els) => els.map((e) => e.getAttribute("aria-label")))) {
    await page.click(`#gallery button[aria-label="${label}"]`);
    await page.evaluate(() => { document.querySelector("#resp-title").textContent = ""; });
    await page.click("#send");
    await page.waitForFunction(() => document.querySelector("#resp-title").textContent !== "", null, { timeout: 15000 });
    outcomes.push({ label, said: await page.textContent("#resp-title") });
  }
  const wrong = outcomes.filter((o) => !/ — no error$| \(expected: [^)]*\)$/.test(o.said));
  check(`gallery: ${outcomes.length} requests sent, each answered as its example expects`, outcomes.length > 150 && wrong.length === 0, JSON.stringify(wrong.slice(0, 8)));
  const served = outcomes.filter((o) => !/does not serve/.test(o.said));
  const failing = served.filter((o) => /\(expected: /.test(o.said));
  check("gallery: most requests to APIs the broker serves succeed", failing.length * 2 < served.length, `${failing.length} of ${served.length} answer the error their example is about`);
  fs.writeFileSync(path.join(shots, "gallery-outcomes.txt"), outcomes.map((o) => `${o.label}: ${o.said}`).join("\n") + "\n");

  // ---- Version view and builder.
  await page.selectOption("#versions-api", "0");
  const vt = await page.textContent("#versions");
  check("versions: Produce shows transactional_id from v3", /transactional_id/.test(vt));
  await page.locator("#versions-section").screenshot({ path: path.join(shots, "7-versions.png") });
  await page.selectOption("#build-api", "1");
  await page.selectOption("#build-version", "4");
  await page.click("#build");
  check("builder: Fetch v4 built and explained", (await page.textContent("#req-title")).startsWith("FetchRequest v4") && (await page.isHidden("#error")));
  // Edit a field in the details pane: max_wait_ms becomes 1234.
  rs = await rows(page, "#request-frame");
  const mw = find(rs, "max_wait_ms");
  await page.click(`#request-frame .tree .node[data-id="${mw.id}"] .name`);
  await page.fill("#request-frame .details form input", "1234");
  await page.click("#request-frame .details form button");
  rs = await rows(page, "#request-frame");
  check("builder: edited max_wait_ms is in the bytes", !!find(rs, "max_wait_ms", (r) => r.value === "1234"));

  // ---- Phone width.
  const phone = await open(browser, shared, { width: 390, height: 844 });
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check("phone width: no horizontal page scroll", overflow <= 0, `overflow ${overflow}px`);
  await phone.screenshot({ path: path.join(shots, "8-phone.png"), fullPage: false });
  await phone.close();

  // ---- Live traffic from kcat through spate serve --inspect.
  if (broker) {
    await page.click("#live-connect");
    await page.waitForFunction(() => /connected/.test(document.querySelector("#live-status").textContent), null, { timeout: 10000 });
    execFileSync("kcat", ["-b", broker, "-L", "-m", "10"], { stdio: "ignore", timeout: 20000 });
    await page.waitForFunction(() => /MetadataResponse/.test(document.querySelector("#live").textContent), null, { timeout: 10000 }).catch(() => {});
    const live = await page.$$eval("#live li", (els) => els.map((e) => e.textContent));
    check("live: kcat's ApiVersions request and response annotated", live.some((t) => /→ ApiVersionsRequest v\d+/.test(t)) && live.some((t) => /← ApiVersionsResponse v\d+/.test(t)), live.join(" | "));
    check("live: kcat's Metadata request and response annotated", live.some((t) => /→ MetadataRequest v\d+/.test(t)) && live.some((t) => /← MetadataResponse v\d+/.test(t)));
    check("live: no frame failed to annotate", live.every((t) => !t.includes(" — ")), live.filter((t) => t.includes(" — ")).join(" | "));
    if (failed) throw new Error(`live traffic: ${await page.textContent("#live-status")}`);
    await page.click("#live button.traffic.response");
    check("live: a response opens in the explainer", /Response v\d+/.test(await page.textContent("#req-title")) && (await page.isHidden("#error")), await page.textContent("#req-title"));
    await page.locator("#live-section").screenshot({ path: path.join(shots, "9-live-traffic.png") });
  }

  // ---- JSON builder: a Produce v9 request as JSON, edited (topic name of a
  // different length, a record's value), encoded, explained and sent.
  await page.selectOption("#build-api", "0");
  await page.selectOption("#build-version", "9");
  await page.selectOption("#build-direction", "request");
  await page.selectOption("#build-variant", "full");
  await page.click("#build");
  let j = JSON.parse(await page.inputValue("#build-json"));
  const part0 = j.body.topic_data[0].partition_data[0];
  check("json builder: Produce v9 built as JSON", j.api === "Produce" && j.version === 9 && part0.records[0].records[0].value !== undefined && (await page.textContent("#req-title")).startsWith("ProduceRequest v9"), JSON.stringify(j).slice(0, 200));
  j.body.transactional_id = null;
  j.body.acks = -1;
  j.body.timeout_ms = 5000;
  part0.index = 0;
  part0.records[0].records[1].value = "edited in JSON, ünïcode";
  j.body.topic_data = [{ ...j.body.topic_data[0], name: "demo", partition_data: [part0] }];
  await page.fill("#build-json", JSON.stringify(j, null, 2));
  await page.focus("#build-json");
  await page.keyboard.press("Control+Enter");
  rs = await rows(page, "#request-frame");
  check("json builder: encoded frame explained without error", (await page.textContent("#req-title")).startsWith("ProduceRequest v9") && (await page.isHidden("#error")) && (await page.isHidden("#build-error")), await page.textContent("#req-title"));
  check("json builder: new topic name in the tree", rs.some((r) => r.value === '"demo"'), JSON.stringify(rs.filter((r) => /name|data/.test(r.name)).slice(0, 6)));
  check("json builder: edited record value in the tree", !!find(rs, "value", (r) => r.text === '"edited in JSON, ünïcode"'), JSON.stringify(rs.filter((r) => r.name === "value")));
  check("json builder: batch CRC valid", rs.some((r) => r.name === "crc" && /valid/i.test(r.note || "")), JSON.stringify(find(rs, "crc")));
  await page.click("#send");
  // The title comes first; wait for the response tree's rows too.
  await page.waitForFunction(() => /ProduceResponse v9|closed/.test(document.querySelector("#resp-title").textContent)
    && document.querySelectorAll("#response-frame .tree .node").length > 0, null, { timeout: 10000 });
  rr = await rows(page, "#response-frame");
  check("json builder: sent, ProduceResponse v9 for demo", /ProduceResponse v9/.test(await page.textContent("#resp-title")) && rr.some((r) => r.value === '"demo"'), await page.textContent("#resp-title"));
  check("json builder: partition error_code 0 and base_offset 3", !!find(rr, "error_code", (r) => r.value === "0") && !!find(rr, "base_offset", (r) => r.value === "3"), JSON.stringify(rr.filter((r) => /error_code|base_offset/.test(r.name))));
  await page.locator("#builder-section").screenshot({ path: path.join(shots, "10-json-builder.png") });
  // A bad edit: the error names the JSON path, and the view keeps the last good frame.
  part0.index = "x";
  await page.fill("#build-json", JSON.stringify(j, null, 2));
  await page.click("#encode");
  const berr = await page.textContent("#build-error");
  check("json builder: bad edit names the path", !(await page.isHidden("#build-error")) && berr.includes("body.topic_data[0].partition_data[0].index: expected int32, found \"x\""), berr);
  await page.locator("#builder-section").screenshot({ path: path.join(shots, "11-json-builder-error.png") });
  // Edit as JSON: a pasted vector becomes JSON with its client id.
  await paste(page, plainHex(kcat));
  await page.click("#edit-json");
  const kj = await page.inputValue("#build-json");
  check("json builder: Edit as JSON on kcat's Metadata", kj.includes('"client_id": "rdkafka"') && kj.includes('"api": "Metadata"') && (await page.isHidden("#build-error")), kj.slice(0, 200));

  check("no page errors", page.errors.length === 0, page.errors.join("; "));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
