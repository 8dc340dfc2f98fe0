// The first screen and the guided conversations in Debian's Chromium
// (tests/tests/e2e/guide.rs starts `spate serve --playground` and runs this):
//
//   node guide.mjs URL SCREENSHOT_DIR
//
// The first screen: kcat's ApiVersions explained beside the in-page
// broker's answer, hex, tree and details of both on a 1400x900 screen
// without scrolling, clickable, and how long after navigation it was
// (printed). Every walkthrough run end to end against the in-page broker,
// each answer's errors as this file's own table says; a step edited as
// JSON and re-sent; a response written by hand checked against the
// broker's. Every check prints one line; any failure exits 1.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { launch, open } from "./common.mjs";

const [url, shots] = process.argv.slice(2);
fs.mkdirSync(shots, { recursive: true });

let failed = false;
function check(what, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? `: ${detail}` : ""}`);
  if (!ok) failed = true;
}

// What each step's answer must carry ("" is no error), by walkthrough.
const EXPECTED = {
  first: ["", "", "UNSUPPORTED_VERSION", ""],
  leader: ["", "", "UNKNOWN_TOPIC_OR_PARTITION", ""],
  // The topic exists once Find the leader ran: creating it again is refused.
  write: ["TOPIC_ALREADY_EXISTS", "", "", "", "OUT_OF_ORDER_SEQUENCE_NUMBER"],
  read: ["", "", "", "", ""],
  group: ["", "MEMBER_ID_REQUIRED", "", "", "", "", ""],
  batches: ["", "", "", "CORRUPT_MESSAGE"],
};

const VIEW = { width: 1400, height: 900 };
const browser = await launch();
try {
  // ---- The first screen, three fresh loads: how long until it is interactive.
  const times = [];
  let page;
  for (let i = 0; i < 3; i++) {
    if (page) await page.close();
    page = await browser.newPage({ viewport: VIEW });
    page.errors = [];
    page.on("pageerror", (e) => page.errors.push(e.message));
    const t0 = Date.now();
    await page.goto(url);
    await page.waitForFunction(() => document.querySelectorAll("#request-frame .tree .node").length > 0
      && document.querySelectorAll("#response-frame .tree .node").length > 0, null, { timeout: 30000, polling: 5 });
    const seen = Date.now() - t0;
    const [frame, mark] = await page.evaluate(() => ["first-frame", "first-screen"].map((m) => Math.round(performance.getEntriesByName(m)[0]?.startTime ?? -1)));
    times.push({ seen, frame, mark });
  }
  console.log(`first screen interactive after navigation: ${times.map((t) => `kcat's frame explained and clickable at ${t.frame} ms, the broker's answer beside it at ${t.mark} ms (seen by the test after ${t.seen} ms)`).join("; ")}`);
  const best = Math.min(...times.map((t) => t.frame));
  // The budget is for this machine at rest: with more runnable processes
  // than cores (other builds), the figure is printed but not held to it.
  const [load] = os.loadavg();
  if (load <= os.cpus().length) {
    check("first screen: the explained frame interactive within 500 ms of navigation (the page's mark, best of 3 loads)", best >= 0 && best < 500, `${best} ms`);
  } else {
    check("first screen: the explained frame interactive (the 500 ms budget not held: load average above the core count)", best >= 0, `${best} ms at load average ${load.toFixed(1)} on ${os.cpus().length} cores`);
  }

  const title = await page.textContent("#req-title");
  const resp = await page.textContent("#resp-title");
  check("first screen: kcat's ApiVersions v3 explained", /^ApiVersionsRequest v3, 40 bytes/.test(title), title);
  check("first screen: the broker's answer beside it, no error", /^ApiVersionsResponse v3, \d+ bytes.* — no error$/.test(resp), resp);
  const rows = await page.$$eval("#request-frame .tree .node", (els) => els.map((e) => e.textContent));
  check("first screen: kcat's client id and software in the tree", rows.some((r) => /client_id.*"rdkafka"/.test(r)) && rows.some((r) => /client_software_name.*"librdkafka"/.test(r)), rows.slice(0, 12).join(" | "));
  const captured = fs.readFileSync(new URL("../../core/tests/vectors/api_versions_request_v3_kcat.bin", import.meta.url)).toString("hex");
  const shown = await page.evaluate(() => Array.from(window.spate.exchanges[0].request, (b) => b.toString(16).padStart(2, "0")).join(""));
  check("first screen: the bytes are kcat's, as captured in core/tests/vectors", shown === captured, shown);
  check("first screen: a prompt of what to try", /Click any byte or field/.test(await page.textContent("#guide")) && (await page.$$("#guide button.walkthrough")).length === 6);
  const layout = await page.evaluate(() => {
    const box = (sel) => { const r = document.querySelector(sel).getBoundingClientRect(); return { top: Math.round(r.top), bottom: Math.round(r.bottom), h: Math.round(r.height) }; };
    const out = { scrollY, innerHeight, innerWidth, scrollWidth: document.documentElement.scrollWidth };
    for (const f of ["request", "response"]) for (const p of ["frame-hex", "tree", "details"]) out[`${f} ${p}`] = box(`#${f}-frame .${p}`);
    return out;
  });
  const parts = Object.entries(layout).filter(([k]) => / /.test(k));
  check("first screen: hex, tree and details of both frames on screen at 1400x900, no scrolling",
    layout.scrollY === 0 && layout.scrollWidth <= layout.innerWidth && parts.every(([, b]) => b.h > 60 && b.top >= 0 && b.bottom <= layout.innerHeight), JSON.stringify(layout));
  check("first screen: a field selected, its details shown", /request_api_key/.test(await page.textContent("#request-frame .details h3")), await page.textContent("#request-frame .details"));
  await page.screenshot({ path: path.join(shots, "20-first-screen.png") });
  // Clickable: a response byte selects its field.
  await page.click('#response-frame .frame-hex .b[data-o="9"]');
  const d = await page.textContent("#response-frame .details h3");
  check("first screen: clicking the answer's byte 9 explains error_code", d === "error_code", d);
  const tnode = await page.$$eval("#request-frame .tree .node", (els) => els.find((e) => e.querySelector(".name").textContent === "client_software_version").dataset.id);
  await page.click(`#request-frame .tree .node[data-id="${tnode}"] .name`);
  check("first screen: clicking a tree node explains it", (await page.textContent("#request-frame .details h3")) === "client_software_version");
  const ex0 = await page.evaluate(() => window.spate.exchanges.map((e) => ({ api: e.api, version: e.version, req: e.request.length, resp: e.response && e.response.length, latency: e.latencyMs })));
  check("window.spate.exchanges: the first screen's exchange", ex0.length === 1 && ex0[0].api === "ApiVersions" && ex0[0].version === 3 && ex0[0].req === 40 && ex0[0].resp > 100 && typeof ex0[0].latency === "number", JSON.stringify(ex0));

  // ---- Every walkthrough, end to end.
  for (const [id, want] of Object.entries(EXPECTED)) {
    const before = await page.evaluate(() => window.spate.exchanges.length);
    await page.click(`#guide button[data-walkthrough="${id}"]`);
    await page.waitForFunction((n) => window.spate.exchanges.length > n, before, { timeout: 15000 });
    await page.click("#guide-rest");
    await page.waitForFunction(([n, k]) => window.spate.exchanges.length >= n + k, [before, want.length], { timeout: 30000 });
    const got = await page.evaluate((n) => window.spate.exchanges.slice(n).map((e) => ({ step: e.step, api: e.api, v: e.version, errors: e.errors.join(","), closed: e.closed, ms: e.latencyMs, resp: e.response ? e.response.length : 0 })), before);
    const said = got.map((g) => `${g.api} v${g.v}: ${g.closed ? `closed ${g.closed}` : g.errors || "no error"} (${g.ms} ms)`).join("; ");
    const right = got.length === want.length && got.every((g, i) => !g.closed && g.resp > 0 && g.errors === want[i]);
    check(`walkthrough ${id}: ${got.length} steps answered as expected`, right, said);
    const outcome = await page.textContent("#guide-outcome");
    check(`walkthrough ${id}: the last step's outcome shown and as expected`, /✓/.test(outcome), outcome);
    check(`walkthrough ${id}: the last answer explained`, (await page.$$("#response-frame .tree .node")).length > 3, await page.textContent("#resp-title"));
    if (id === "read") {
      const poll = got[4];
      check("read: the long poll waited for max_wait_ms", poll.ms >= 900, `${poll.ms} ms`);
    }
    await page.screenshot({ path: path.join(shots, `21-walkthrough-${id}.png`) });
  }

  // ---- The conversation as a sequence diagram: two arrows per exchange, and an arrow explains its exchange.
  {
    const n = await page.evaluate(() => window.spate.exchanges.length);
    const labels = await page.$$eval("#guide-sequence .seq-arrow", (gs) => gs.map((g) => g.querySelector(".seq-label").textContent));
    check("conversation: a request and a response arrow per exchange", labels.length === 2 * n, `${labels.length} arrows, ${n} exchanges`);
    const join = labels.findIndex((l) => /^JoinGroup v\d+ · .* · MEMBER_ID_REQUIRED$/.test(l));
    check("conversation: JoinGroup's first answer names MEMBER_ID_REQUIRED on its arrow", join >= 0, labels.filter((l) => /JoinGroup/.test(l)).join(" | "));
    await page.evaluate(() => document.getElementById("conversation-section").scrollIntoView());
    await page.locator("#guide-sequence .seq-arrow").nth(join).scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(shots, "22-conversation-sequence.png") });
    await page.locator("#guide-sequence .seq-arrow").nth(join).click();
    const title = await page.textContent("#resp-title");
    check("conversation: clicking an arrow explains its exchange", /^JoinGroupResponse v\d+/.test(title) && /MEMBER_ID_REQUIRED/.test(title), title);
  }

  // ---- A step edited as JSON and re-sent: Metadata for the unknown topic, now for one that exists.
  await page.click('#guide button[data-walkthrough="leader"]');
  await page.waitForFunction(() => /step 1 of/.test(document.querySelector("#guide-step-title")?.textContent || "") && /✓|✗/.test(document.querySelector("#guide-outcome").textContent));
  await page.click("#guide-next");
  await page.waitForFunction(() => /step 2 of/.test(document.querySelector("#guide-step-title").textContent) && /✓|✗/.test(document.querySelector("#guide-outcome").textContent));
  await page.click("#guide-next");
  await page.waitForFunction(() => /step 3 of/.test(document.querySelector("#guide-step-title").textContent) && /✓|✗/.test(document.querySelector("#guide-outcome").textContent));
  check("leader step 3: UNKNOWN_TOPIC_OR_PARTITION named", /UNKNOWN_TOPIC_OR_PARTITION ✓/.test(await page.textContent("#guide-outcome")), await page.textContent("#guide-outcome"));
  await page.click("#guide-edit");
  const json = await page.inputValue("#guide-edit-json");
  check("edit: the step's request as JSON", json.includes('"guide-no-such-topic"') && json.includes('"api": "Metadata"'), json.replace(/\s+/g, " ").slice(0, 160));
  const n = await page.evaluate(() => window.spate.exchanges.length);
  await page.fill("#guide-edit-json", json.replace('"guide-no-such-topic"', '"guide-orders"'));
  await page.click("#guide-resend");
  await page.waitForFunction((k) => window.spate.exchanges.length > k, n);
  const edited = await page.evaluate(() => { const e = window.spate.exchanges.at(-1); return { errors: e.errors, edited: e.edited, api: e.api }; });
  check("edit: re-sent for an existing topic, answered without error", edited.edited && edited.api === "Metadata" && edited.errors.length === 0, JSON.stringify(edited));
  check("edit: the outcome says no error, and what the step as written expects", /no error \(your edit; as written, this step expects UNKNOWN_TOPIC_OR_PARTITION\)/.test(await page.textContent("#guide-outcome")), await page.textContent("#guide-outcome"));
  const trees = await page.$$eval("#response-frame .tree .node", (els) => els.map((e) => e.textContent));
  check("edit: the new answer explained (guide-orders with a partition)", trees.some((t) => /"guide-orders"/.test(t)) && trees.some((t) => /leader_id/.test(t)));
  await page.screenshot({ path: path.join(shots, "22-edit-resend.png") });

  // ---- Write the response yourself: right, a byte wrong, a field wrong in JSON.
  await page.click('#guide button[data-walkthrough="first"]');
  await page.waitForFunction(() => /step 1 of/.test(document.querySelector("#guide-step-title")?.textContent || "") && /✓|✗/.test(document.querySelector("#guide-outcome").textContent));
  await page.click("#guide-yours");
  const answer = await page.evaluate(() => Array.from(window.spate.exchanges.at(-1).response, (b) => b.toString(16).padStart(2, "0")).join(""));
  const mine = async (text) => {
    await page.fill("#guide-yours-input", text);
    await page.click("#guide-check-button");
    return page.textContent("#guide-check");
  };
  let said = await mine(answer.replace(/(..)/g, "$1 "));
  check("your response: the broker's own bytes match", /Matches the broker's answer byte for byte/.test(said), said);
  // Byte 7 is the last byte of the correlation id (1 → 2).
  said = await mine(answer.slice(0, 14) + "02" + answer.slice(16));
  check("your response: a wrong byte names the field (header.correlation_id)", /1 byte differs, the first at byte 7 \(in header\.correlation_id\); bytes 7\./.test(said) && /header\.correlation_id: yours 2, the broker's 1/.test(said), said);
  await page.screenshot({ path: path.join(shots, "23-your-response.png") });
  said = await mine(JSON.stringify({ header: { correlation_id: 1 }, body: { error_code: 0, api_keys: [{ api_key: 0, min_version: 0, max_version: 13 }], throttle_time_ms: 0 } }));
  check("your response: JSON with one API listed names the missing ones", /Differs/.test(said) && /body\.api_keys/.test(said) && /missing from yours/.test(said), said.slice(0, 300));
  said = await mine(answer.slice(8));
  check("your response: no size prefix is said so", /without its 4-byte size prefix/.test(said), said);

  // ---- The conversation, listed: one entry per exchange; selecting one explains it.
  const listed = await page.$$eval("#guide-log li", (els) => els.map((e) => e.textContent));
  const total = await page.evaluate(() => window.spate.exchanges.length);
  check("conversation: every exchange listed", listed.length === total && /^first screen: → ApiVersions v3/.test(listed[0]), `${listed.length} of ${total}: ${listed[0]}`);
  await page.locator("#conversation-section").screenshot({ path: path.join(shots, "24-conversation.png") });
  const join = listed.findIndex((t) => /JoinGroup v9.*MEMBER_ID_REQUIRED/.test(t));
  await page.click(`#guide-log li:nth-child(${join + 1}) button`);
  check("conversation: selecting an exchange explains it", /^JoinGroupResponse v9.*MEMBER_ID_REQUIRED/.test(await page.textContent("#resp-title")), await page.textContent("#resp-title"));

  check("no page errors", page.errors.length === 0, page.errors.join("; "));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
