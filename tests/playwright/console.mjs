// The playground's Console in Debian's Chromium, against a native broker
// started with `spate serve --playground ADDR --console` and a workload:
// kcat producing to a two-partition topic, and a confluent-kafka consumer
// in a group that commits part of what it read and stays a member.
// tests/tests/e2e/playground.rs creates the topic, starts the broker and
// runs this:
//
//   node console.mjs URL SCREENSHOT_DIR BROKER_ADDR TOPIC
//
// Every check prints one line; the first failure exits 1. Screenshots go
// to SCREENSHOT_DIR (console-*.png).

import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { launch, open } from "./common.mjs";

const [url, shots, broker, topic] = process.argv.slice(2);
const group = "console-group";
fs.mkdirSync(shots, { recursive: true });

let failed = false;
function check(what, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? `: ${detail}` : ""}`);
  if (!ok) failed = true;
  return ok;
}

/// kcat produces `n` records to `partition`, keyed, with a header.
function produce(partition, from, n) {
  const lines = Array.from({ length: n }, (_, i) => `k-${from + i}:console value ${from + i}`).join("\n") + "\n";
  execFileSync("kcat", ["-P", "-b", broker, "-t", topic, "-p", String(partition), "-K", ":", "-H", "source=kcat"], { input: lines });
}

// A consumer that reads everything, commits 10 on partition 0 and 5 on
// partition 1, and stays in the group until its stdin closes.
const consumerPy = `
import sys, threading
from confluent_kafka import Consumer, TopicPartition
broker, topic, group = sys.argv[1:4]
c = Consumer({"bootstrap.servers": broker, "group.id": group, "enable.auto.commit": False,
              "auto.offset.reset": "earliest", "client.id": "console-test-consumer"})
c.subscribe([topic])
seen = 0
while seen < 40:
    m = c.poll(0.5)
    if m is not None and not m.error():
        seen += 1
c.commit(offsets=[TopicPartition(topic, 0, 10), TopicPartition(topic, 1, 5)], asynchronous=False)
print("committed", flush=True)
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
while not done.is_set():
    c.poll(0.2)
c.close()
`;

async function consumer() {
  const p = spawn("python3", ["-c", consumerPy, broker, topic, group], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error("the consumer did not commit within 30 s")), 30000);
    p.stdout.on("data", (d) => { if (String(d).includes("committed")) { clearTimeout(t); ok(); } });
    p.on("exit", (code) => fail(new Error(`the consumer exited (${code})`)));
  });
  return p;
}

/// The text of the cell `cls` in the row of `box` for topic/partition.
const cell = (page, box, t, p, cls) => page.$eval(`#${box} tr[data-topic="${t}"][data-partition="${p}"] td.${cls}`, (e) => e.textContent).catch(() => null);

/// Waits until `fn` (in node) returns true, polling every 200 ms.
async function until(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last === true) return check(what, true);
    await new Promise((r) => setTimeout(r, 200));
  }
  return check(what, false, `still ${JSON.stringify(last)}`);
}

produce(0, 0, 30);
produce(1, 100, 10);
const member = await consumer();
const browser = await launch();
try {
  const page = await open(browser, url);
  await page.waitForSelector("body[data-offers]");
  check("the Console is shown when the server offers it", await page.isVisible("#console-section") && await page.isVisible("#console-nav"));
  await page.click("#console-nav");
  await until("the topic and its offsets appear", async () => {
    const got = [await cell(page, "console-topics", topic, 0, "earliest"), await cell(page, "console-topics", topic, 0, "latest"), await cell(page, "console-topics", topic, 1, "latest")];
    return got.join(" ") === "0 30 10" || got;
  });
  const size = await cell(page, "console-topics", topic, 0, "size");
  check("the partition's size is shown, or why not", /B$/.test(size || "") || (await page.textContent("#console-topics .note")).includes("does not serve DescribeLogDirs"), size);
  await until("the group with its lag (latest - committed)", async () => {
    const got = [await cell(page, "console-groups", topic, 0, "committed"), await cell(page, "console-groups", topic, 0, "lag"), await cell(page, "console-groups", topic, 1, "lag")];
    return got.join(" ") === "10 20 5" || got;
  });
  const g = await page.textContent(`#console-groups .group[data-group="${group}"]`);
  check("the group is Stable with one member", /Stable/.test(g) && /1 member\b/.test(g), g.slice(0, 200));
  check("the member's assignment is shown", g.includes(`${topic}-0`) && g.includes(`${topic}-1`) && g.includes("console-test-consumer"), g.slice(0, 300));
  await until("recent records show a produced value, key and header", async () => {
    const t = await page.textContent("#console-records").catch(() => "");
    return (t.includes("console value 29") && t.includes("k-29") && t.includes("source=kcat")) || t.slice(0, 120);
  });
  await (await page.$("#console-section")).screenshot({ path: path.join(shots, "console-1.png") });

  // More records: the numbers and the rate move.
  const before = +(await page.getAttribute("#console-section", "data-refreshes"));
  produce(0, 30, 25);
  await until("the latest offset updates", async () => (await cell(page, "console-topics", topic, 0, "latest")) === "55" || await cell(page, "console-topics", topic, 0, "latest"));
  await until("the lag updates", async () => (await cell(page, "console-groups", topic, 0, "lag")) === "45" || await cell(page, "console-groups", topic, 0, "lag"));
  await until("the messages-in plot shows the burst", async () => {
    const label = await page.getAttribute("#console-in svg", "aria-label");
    const peak = await page.textContent("#console-in .plot-foot");
    return /peak (\d+)/.exec(peak)?.[1] > 0 || `${label}; ${peak}`;
  });
  const after = +(await page.getAttribute("#console-section", "data-refreshes"));
  check("it refreshes every second", after > before, `${before} -> ${after}`);
  await until("the newest record is first", async () => {
    const first = await page.textContent("#console-records tr:nth-child(3) td.value").catch(() => "");
    return first === "console value 54" || first;
  });
  await page.selectOption("#console-topic", topic);
  await (await page.$("#console-section")).screenshot({ path: path.join(shots, "console-2-updated.png") });
  await page.emulateMedia({ colorScheme: "dark" });
  const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  check("dark mode darkens the page", bg !== "rgb(253, 253, 251)", bg);
  await (await page.$("#console-section")).screenshot({ path: path.join(shots, "console-3-dark.png") });
  check("no errors in the page", page.errors.length === 0, page.errors.join("; "));
  check("no failed requests", page.failed.length === 0, page.failed.join("; "));
} finally {
  await browser.close();
  member.stdin.end();
}
process.exit(failed ? 1 : 0);
