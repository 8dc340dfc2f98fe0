// The sequence view and the compare view in Debian's Chromium, against
// `spate serve --playground ... --inspect` (tests/tests/e2e/playground_views.rs
// starts it, with TOPIC created, and runs this):
//
//   node views.mjs URL VECTORS_DIR SCREENSHOT_DIR BROKER_ADDR TOPIC
//
// Sequence: kcat -L, then a kcat consumer group (kcat -G) with a short
// heartbeat interval; the group coordinator connection's diagram must show
// JoinGroup, SyncGroup and Heartbeat arrows in order, labelled, and a
// clicked arrow must be explained. Compare: kcat's Metadata v4 against
// librdkafka's v12, and the in-page broker's ApiVersions v0 and v3
// answers, with the fields that differ marked. Tree keyboard: the WAI-ARIA
// tree keys and roles, and Enter from the hex to the tree. Dark mode: the
// tree's text contrast, on its rows and kind chips. Every check prints one
// line; a failure exits 1. Screenshots go to SCREENSHOT_DIR.

import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { launch, open } from "./common.mjs";

const [url, vectors, shots, broker, topic] = process.argv.slice(2);
fs.mkdirSync(shots, { recursive: true });
const vector = (name) => fs.readFileSync(path.join(vectors, name));

let failed = false;
function check(what, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? `: ${detail}` : ""}`);
  if (!ok) failed = true;
}

/// The arrows of the diagram shown: {side, label, tip}.
const arrows = (page) => page.$$eval("#seq-diagram .seq-arrow", (gs) => gs.map((g) => ({
  side: g.dataset.side,
  label: g.querySelector(".seq-label").textContent,
  tip: g.querySelector("title").textContent,
  failed: g.classList.contains("failed"),
})));

/// Tree rows of a compare frame as {path, cls, badge}; the path is the
/// names from below the root, joined as the compare view does.
const marked = (page, frame) => page.$$eval(`${frame} .tree .node`, (els) => els.map((e) => {
  const names = [];
  for (let item = e.closest(".item"); item; item = item.parentElement.closest(".item")) names.unshift(item.querySelector(".node .name").textContent);
  const p = names.slice(1).reduce((acc, n) => (/^\[\d+\]$/.test(n) ? acc + n : acc ? `${acc}.${n}` : n), "");
  const diff = [...e.classList].find((c) => c.startsWith("diff-")) || "";
  return { path: p, cls: diff, badge: e.querySelector(".diff-badge")?.textContent || "" };
})).then((rs) => new Map(rs.map((r) => [r.path, r])));

/// Hex byte offsets of a compare frame carrying class `cls`.
const markedBytes = (page, frame, cls) => page.$$eval(`${frame} .frame-hex .b.${cls}`, (els) => els.map((e) => +e.dataset.o));

const hexOf = (b) => Buffer.from(b).toString("hex");

const browser = await launch();
let consumer;
try {
  const page = await open(browser, url, { width: 1400, height: 900 });

  // ---------------------------------------------------------------- sequence
  await page.click("#live-connect");
  await page.waitForFunction(() => /connected/.test(document.querySelector("#live-status").textContent), null, { timeout: 10000 });
  execFileSync("kcat", ["-b", broker, "-L", "-m", "10"], { stdio: "ignore", timeout: 20000 });
  execFileSync("kcat", ["-b", broker, "-P", "-t", topic], { input: "one\ntwo\nthree\n", stdio: ["pipe", "ignore", "ignore"], timeout: 20000 });
  consumer = spawn("kcat", ["-b", broker, "-G", "seq-group", "-o", "beginning", "-q",
    "-X", "heartbeat.interval.ms=300", "-X", "auto.commit.interval.ms=300", topic], { stdio: "ignore" });
  // Two heartbeats answered on the coordinator connection, then kcat leaves the group.
  const beats = () => page.evaluate(() => [...window.spate.liveSeq.conns.values()]
    .reduce((n, c) => n + c.exchanges.filter((x) => x.api === "Heartbeat" && x.response).length, 0));
  await page.waitForFunction(() => [...window.spate.liveSeq.conns.values()]
    .some((c) => c.exchanges.filter((x) => x.api === "Heartbeat" && x.response).length >= 2), null, { timeout: 30000 })
    .catch(() => {});
  check("sequence: the consumer's heartbeats arrived", (await beats()) >= 2, `${await beats()} answered`);
  consumer.kill("SIGTERM");
  await new Promise((r) => consumer.once("exit", r));
  consumer = null;
  await page.waitForFunction(() => [...window.spate.liveSeq.conns.values()].some((c) => c.exchanges.some((x) => x.api === "LeaveGroup" && x.response)), null, { timeout: 10000 }).catch(() => {});
  await page.waitForTimeout(600); // the diagram redraws at most every 200 ms

  const options = await page.$$eval("#seq-conn option", (os) => os.map((o) => ({ value: o.value, text: o.textContent })));
  const coord = options.find((o) => o.text.includes("JoinGroup"));
  check("sequence: a connection picker names each connection's APIs", options.length >= 2 && !!coord && options.some((o) => o.text.includes("Metadata")), options.map((o) => o.text).join(" | "));
  if (!coord) throw new Error("no connection with a JoinGroup");
  await page.selectOption("#seq-conn", coord.value);
  const as = await arrows(page);
  const seq = as.map((a) => `${a.side === "request" ? "→" : "←"} ${a.label.split(" · ")[0].replace(/ v\d+$/, "")}`);
  // JoinGroup (and its answer), SyncGroup, then Heartbeats, in that order.
  const order = ["→ JoinGroup", "← JoinGroup", "→ SyncGroup", "← SyncGroup", "→ Heartbeat", "← Heartbeat", "→ Heartbeat", "← Heartbeat"];
  let at = 0;
  for (const s of seq) if (s === order[at]) at++;
  check("sequence: JoinGroup, SyncGroup, Heartbeat arrows in order", at === order.length, seq.join(", "));
  const reqRe = /^(\w+) v(\d+) · (\d+) B$/;
  const respRe = /^(\w+) v(\d+) · (\d+) B · (<1 ms|\d+ ms|[\d.]+ s)( · [A-Z_, ]+)?$/;
  const bad = as.filter((a) => !(a.side === "request" ? reqRe : respRe).test(a.label));
  check("sequence: every arrow labelled API, version, size (and latency)", as.length >= 8 && !bad.length, bad.map((a) => a.label).join(" | ") || `${as.length} arrows`);
  // The labels say what the frames hold: size and correlation id from the bytes.
  const xs = await page.evaluate((c) => window.spate.liveSeq.conns.get(+c).exchanges.map((x) => ({
    api: x.api, version: x.version, corr: x.correlationId, req: x.request.length, resp: x.response ? x.response.length : null,
    corrInBytes: new DataView(x.request.buffer).getInt32(8),
  })), coord.value);
  const join = xs.find((x) => x.api === "JoinGroup");
  const joinArrow = as.find((a) => a.side === "request" && a.label.startsWith("JoinGroup"));
  check("sequence: the JoinGroup arrow's size and tooltip correlation id are the frame's",
    joinArrow.label === `JoinGroup v${join.version} · ${join.req} B` && joinArrow.tip.includes(`correlation id ${join.corrInBytes}`), `${joinArrow.label} / ${joinArrow.tip.replace(/\n/g, "; ")}`);
  // librdkafka's first JoinGroup is answered MEMBER_ID_REQUIRED (KIP-394): the arrow says so.
  const firstJoinResp = as.find((a) => a.side === "response" && a.label.startsWith("JoinGroup"));
  check("sequence: the first JoinGroup answer names its error", join.version < 4 || (firstJoinResp.failed && firstJoinResp.label.endsWith("MEMBER_ID_REQUIRED")), firstJoinResp.label);
  await page.locator("#live-sequence").screenshot({ path: path.join(shots, "12-sequence.png") });

  // Clicking an arrow explains its frame.
  const syncIdx = as.findIndex((a) => a.side === "response" && a.label.startsWith("SyncGroup"));
  const sync = xs.find((x) => x.api === "SyncGroup");
  await page.locator("#seq-diagram .seq-arrow").nth(syncIdx).click();
  const title = await page.textContent("#req-title");
  check("sequence: clicking SyncGroup's response explains it", title === `SyncGroupResponse v${sync.version}, ${sync.resp} bytes` && (await page.isHidden("#error")), title);
  const rows = await page.$$eval("#request-frame .tree .node .name", (ns) => ns.map((n) => n.textContent));
  check("sequence: the explained SyncGroup response has its assignment", rows.includes("assignment") && rows.includes("error_code"), rows.slice(0, 12).join(" "));
  const hbIdx = as.findIndex((a) => a.side === "request" && a.label.startsWith("Heartbeat"));
  await page.locator("#seq-diagram .seq-arrow").nth(hbIdx).focus();
  await page.keyboard.press("Enter");
  check("sequence: Enter on a focused Heartbeat arrow explains the request", (await page.textContent("#req-title")).startsWith("HeartbeatRequest v"), await page.textContent("#req-title"));
  await page.screenshot({ path: path.join(shots, "12b-sequence-explained.png") });

  // Compare with a Live traffic frame: kcat -L's Metadata request against the consumer's.
  const metaReqs = await page.evaluate(() => window.spate.liveSeq.frames().map((f, i) => ({ i, label: f.label })).filter((f) => /Metadata v\d+ request/.test(f.label)));
  await page.evaluate((i) => { const f = window.spate.liveSeq.frames()[i]; window.spate.loadBytes(f.bytes, f.opts); }, metaReqs[0].i);
  await page.click("#compare");
  await page.selectOption("#cmp-live", String(metaReqs[metaReqs.length - 1].i));
  const liveSummary = await page.textContent("#cmp-summary");
  const liveB = await page.textContent("#compare-b .frame-title");
  check("compare: a Live traffic frame as B", metaReqs.length >= 2 && /^MetadataRequest v\d+, \d+ bytes$/.test(liveB) && /^A MetadataRequest v\d+ (vs|and) B MetadataRequest v\d+/.test(liveSummary) && (await page.isHidden("#cmp-error")), `${liveB}: ${liveSummary}`);

  // ---------------------------------------------------------------- compare
  const v4 = vector("metadata_request_v4_kcat.bin"), v12 = vector("metadata_request_v12_librdkafka.bin");
  await page.selectOption("#direction", "request");
  await page.selectOption("#prefix", "auto");
  await page.fill("#input", hexOf(v4));
  await page.click("#explain");
  await page.click("#compare");
  check("compare: A is the frame explained above", (await page.textContent("#cmp-a-desc")).startsWith("Frame A: MetadataRequest v4, 26 bytes"), await page.textContent("#cmp-a-desc"));
  await page.selectOption("#cmp-b-direction", "request");
  await page.fill("#cmp-b-input", hexOf(v12));
  await page.click("#cmp-go");
  const a = await marked(page, "#compare-a"), b = await marked(page, "#compare-b");
  const cls = (m, p) => (m.get(p) || { cls: "missing" }).cls;
  check("compare: the size prefix changed, with B's value", cls(a, "size") === "diff-changed" && a.get("size").badge === "B: 44" && b.get("size").badge === "A: 22", JSON.stringify([a.get("size"), b.get("size")]));
  check("compare: request_api_version changed", cls(a, "header.request_api_version") === "diff-changed" && cls(b, "header.request_api_version") === "diff-changed");
  check("compare: correlation id and client id unchanged", ["header.correlation_id", "header.client_id", "header.client_id.data"].every((p) => cls(a, p) === "" && cls(b, p) === ""),
    ["header.correlation_id", "header.client_id"].map((p) => `${p}=${cls(a, p)}`).join(" "));
  check("compare: allow_auto_topic_creation changed", cls(a, "body.allow_auto_topic_creation") === "diff-changed" && b.get("body.allow_auto_topic_creation").badge === "A: false");
  check("compare: the flexible header's tagged fields only in B", cls(b, "header.tagged_fields") === "diff-added" && b.get("header.tagged_fields").badge === "only in B" && !a.has("header.tagged_fields"));
  check("compare: the topic and v12's new field only in B", cls(b, "body.topics[0]") === "diff-added" && cls(b, "body.topics[0].name") === "diff-added" && cls(b, "body.include_topic_authorized_operations") === "diff-added");
  check("compare: the topics count re-counted (int32 0 vs compact 2)", cls(a, "body.topics.count") === "diff-changed" && cls(b, "body.topics.count") === "diff-changed");
  check("compare: parents of differences marked as such", cls(a, "header") === "diff-inner" && cls(a, "body.topics") === "diff-inner");
  const aChanged = await markedBytes(page, "#compare-a", "diff-changed");
  const bAdded = await markedBytes(page, "#compare-b", "diff-added");
  const range = (s, e) => Array.from({ length: e - s }, (_, i) => s + i);
  const want = [...range(0, 4), ...range(6, 8), ...range(21, 26)];
  check("compare: A's differing bytes marked in its hex (size, version, topics count, auto-create)", JSON.stringify(aChanged) === JSON.stringify(want), aChanged.join(","));
  check("compare: B's added bytes marked in its hex", JSON.stringify(bAdded) === JSON.stringify([21, ...range(23, 45), 46, 47]), bAdded.join(","));
  const summary = await page.textContent("#cmp-summary");
  check("compare: summary counts", summary === "A MetadataRequest v4 vs B MetadataRequest v12: 4 changed, 4 only in B (added).", summary);
  // A difference in the list selects the field on both sides.
  await page.locator("#cmp-diffs button", { hasText: "allow_auto_topic_creation" }).click();
  const selA = await page.textContent("#compare-a .node.selected .name"), selB = await page.textContent("#compare-b .node.selected .name");
  check("compare: a listed difference selects it in both frames", selA === "allow_auto_topic_creation" && selB === "allow_auto_topic_creation", `${selA} / ${selB}`);
  await page.locator("#compare-section").screenshot({ path: path.join(shots, "13-compare-metadata.png") });

  // Two versions of one response: the in-page broker's ApiVersions v0 and v3 answers.
  const [r0, r3] = await page.evaluate(async () => {
    const s = window.spate;
    const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    const ask = async (v) => hex(await s.pg.handle(s.wasm.sendableExample(18, v), undefined, "present"));
    return [await ask(0), await ask(3)];
  });
  await page.selectOption("#direction", "response");
  await page.selectOption("#resp-api", "18");
  await page.fill("#resp-version", "0");
  await page.fill("#input", r0);
  await page.click("#explain");
  await page.click("#compare");
  await page.selectOption("#cmp-b-direction", "response");
  check("compare: B's API and version default to A's", (await page.inputValue("#cmp-b-api")) === "18" && (await page.inputValue("#cmp-b-version")) === "0");
  await page.fill("#cmp-b-version", "3");
  await page.fill("#cmp-b-input", r3);
  await page.click("#cmp-go");
  const ra = await marked(page, "#compare-a"), rb = await marked(page, "#compare-b");
  check("compare: ApiVersions v0 vs v3 answers both decoded", /ApiVersionsResponse v0/.test(await page.textContent("#compare-a .frame-title")) && /ApiVersionsResponse v3/.test(await page.textContent("#compare-b .frame-title")) && (await page.isHidden("#cmp-error")));
  check("compare: error_code the same, throttle_time_ms only in v3", cls(ra, "body.error_code") === "" && cls(rb, "body.throttle_time_ms") === "diff-added" && !ra.has("body.throttle_time_ms"), `${cls(ra, "body.error_code")} ${cls(rb, "body.throttle_time_ms")}`);
  check("compare: api_keys elements match by index, their key and versions the same", cls(ra, "body.api_keys[0].api_key") === "" && cls(ra, "body.api_keys[0].max_version") === "" && cls(rb, "body.api_keys[0].tagged_fields") === "diff-added",
    ["api_key", "max_version", "tagged_fields"].map((f) => `${f}=${cls(rb, `body.api_keys[0].${f}`)}`).join(" "));
  const lines = await page.$$eval("#cmp-diffs li", (ls) => ls.map((l) => l.textContent));
  const perKey = await page.evaluate(() => window.spate.compare.result.diffs.filter((d) => /^body\.api_keys\[\d+\]\.tagged_fields$/.test(d.path)).length);
  check("compare: a field differing in every array element is one line", perKey > 1 && lines.includes(`body.api_keys[*].tagged_fields only in B, in ${perKey} elements`)
    && lines.includes("body.throttle_time_ms only in B"), lines.join(" | "));
  await page.locator("#compare-section").screenshot({ path: path.join(shots, "13b-compare-apiversions.png") });

  // ---------------------------------------------------------------- tree keyboard and ARIA
  await page.selectOption("#direction", "request");
  await page.fill("#input", hexOf(v4));
  await page.click("#explain");
  const kb = () => page.evaluate(() => {
    const f = document.activeElement;
    const tree = document.querySelector("#request-frame .tree");
    return {
      focus: f.getAttribute("role") === "treeitem" ? f.querySelector(".name").textContent : `${f.tagName}.${f.className}`,
      level: f.getAttribute("aria-level"), selected: f.getAttribute("aria-selected"), expanded: f.getAttribute("aria-expanded"),
      tabbable: [...tree.querySelectorAll("[tabindex='0']")].map((e) => e.querySelector(".name").textContent).join(","),
      details: document.querySelector("#request-frame .details h3")?.textContent,
      roles: tree.getAttribute("role") === "tree" && [...tree.querySelectorAll(".node")].every((n) => n.getAttribute("role") === "treeitem" && n.hasAttribute("aria-level"))
        && [...tree.querySelectorAll(".kids")].every((g) => g.getAttribute("role") === "group"),
    };
  });
  // Tab from the hex reaches the tree: one row is in the tab order.
  await page.focus("#request-frame .frame-hex");
  await page.keyboard.press("Tab");
  let k = await kb();
  check("tree keyboard: Tab from the hex lands on the tree's root, the only tabbable row", k.focus === "request" && k.tabbable === "request" && k.level === "1" && k.roles, JSON.stringify(k));
  const steps = [
    ["ArrowDown", { focus: "size", selected: "true", details: "size", level: "2" }],
    ["ArrowDown", { focus: "header", expanded: "true" }],
    ["ArrowDown", { focus: "request_api_key", level: "3", details: "request_api_key" }],
    ["ArrowLeft", { focus: "header", expanded: "true" }], // a leaf: to its parent
    ["ArrowLeft", { focus: "header", expanded: "false" }], // open: closes it
    ["ArrowDown", { focus: "body" }], // header's fields are hidden now
    ["ArrowUp", { focus: "header" }],
    ["ArrowRight", { focus: "header", expanded: "true" }], // closed: opens it
    ["ArrowRight", { focus: "request_api_key" }], // open: to its first child
    ["End", { focus: "allow_auto_topic_creation" }],
    ["Home", { focus: "request" }],
    ["Enter", { focus: "request", expanded: "false" }],
    ["Enter", { focus: "request", expanded: "true" }],
  ];
  const went = [];
  let ok = true;
  for (const [key, want] of steps) {
    await page.keyboard.press(key);
    k = await kb();
    went.push(`${key}→${k.focus}${k.expanded ? `(${k.expanded})` : ""}`);
    if (Object.entries(want).some(([f, v]) => k[f] !== v) || k.tabbable !== k.focus || k.selected !== "true" || k.details !== k.focus || !k.roles) {
      ok = false;
      went.push(`expected ${JSON.stringify(want)}, got ${JSON.stringify(k)}`);
      break;
    }
  }
  check("tree keyboard: arrows, Home/End, Enter move, open and close; aria-selected, aria-expanded and the tab stop follow", ok, went.join(" "));
  await page.focus("#request-frame .frame-hex");
  for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowRight");
  await page.keyboard.press("Enter");
  k = await kb();
  check("hex keyboard: Enter goes from byte 4 to its field's tree row", k.focus === "request_api_key" && k.selected === "true", JSON.stringify(k));

  // ---------------------------------------------------------------- dark mode
  // In dark mode every tree text, the kind chips' included, stays readable on what is behind it.
  const dark = await browser.newPage({ viewport: { width: 1400, height: 900 }, colorScheme: "dark" });
  await dark.goto(url);
  await dark.waitForSelector("body[data-ready=true]", { timeout: 30000 });
  await dark.fill("#input", hexOf(v4));
  await dark.click("#explain");
  const worst = await dark.$$eval("#request-frame .tree .node", (rows) => {
    const rgb = (c) => c.match(/[\d.]+/g).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }).reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
    // The colour behind an element: its own, else its nearest ancestor's that is not transparent.
    const behind = (e) => {
      for (; e; e = e.parentElement) {
        const c = getComputedStyle(e).backgroundColor;
        if (!/rgba\(.*, 0\)$/.test(c) && c !== "transparent") return c;
      }
      return getComputedStyle(document.documentElement).backgroundColor;
    };
    let min = Infinity, at = "";
    for (const r of rows) {
      for (const part of r.querySelectorAll(".name, .kind, .value, .range, .note, .text")) {
        const fg = lum(rgb(getComputedStyle(part).color));
        const bg = lum(rgb(behind(part)));
        const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
        if (ratio < min) { min = ratio; at = `${r.querySelector(".name").textContent} .${part.className}`; }
      }
    }
    return { min: +min.toFixed(2), at };
  });
  check("dark mode: tree text and kind chips have contrast 4.5:1 or more", worst.min >= 4.5, JSON.stringify(worst));
  await dark.locator("#request-frame").screenshot({ path: path.join(shots, "14-dark-tree.png") });
  await dark.close();

  check("no page errors", page.errors.length === 0, page.errors.join("; "));
} finally {
  if (consumer) consumer.kill("SIGKILL");
  await browser.close();
}
process.exit(failed ? 1 : 0);
