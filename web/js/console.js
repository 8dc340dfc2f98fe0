// The Console section: a live view of the native broker this page is
// served by (`spate serve --playground ADDR --console`), asked for in the
// Kafka protocol itself. Every request is a real frame the wasm codec
// builds from JSON (`fromJson`); it goes over the WebSocket `/console`,
// which relays it to the broker over TCP and sends the response frame
// back, decoded here with `toJson`. Nothing else is read: what is shown is
// what any Kafka client would be told.
//
// Each second: Metadata (topics, partitions, leaders), ListOffsets
// (earliest and latest), DescribeLogDirs (sizes, when the broker serves
// it), ListGroups, DescribeGroups (state, members, assignments),
// OffsetFetch (committed offsets, so lag = latest - committed), and a
// Fetch near the end of the chosen topic (recent records). Messages in per
// second come from the sum of log end offsets, messages out from the sum
// of committed offsets.

const $ = (id) => document.getElementById(id);

/// The newest version of each API whose JSON this file writes and reads;
/// the version sent is the lower of this and the broker's newest.
const WANT = {
  ApiVersions: [18, 3, 3],
  Metadata: [3, 1, 12],
  ListOffsets: [2, 1, 7],
  DescribeLogDirs: [35, 1, 4],
  ListGroups: [16, 0, 4],
  DescribeGroups: [15, 0, 5],
  OffsetFetch: [9, 2, 7],
  Fetch: [1, 4, 11],
};

/// Samples kept for the rate plots (one a second).
const SAMPLES = 60;

/// The Kafka connection through the relay: one WebSocket, requests
/// answered by correlation id.
class Relay {
  constructor(wasm, url) {
    this.wasm = wasm;
    this.pending = new Map();
    this.next = 1;
    this.versions = null;
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.opened = new Promise((ok, fail) => {
      this.ws.onopen = ok;
      this.ws.onerror = () => fail(new Error("the console's WebSocket did not open"));
    });
    this.closed = new Promise((done) => {
      this.ws.onclose = (e) => {
        const why = e.reason || (e.code === 1006 ? "the connection broke" : `close code ${e.code}`);
        for (const p of this.pending.values()) p.fail(new Error(`console closed: ${why}`));
        this.pending.clear();
        done(why);
      };
    });
    this.ws.onmessage = (m) => this.answer(new Uint8Array(m.data));
  }

  answer(bytes) {
    if (bytes.length < 8) return;
    const corr = new DataView(bytes.buffer, bytes.byteOffset).getInt32(4);
    const p = this.pending.get(corr);
    if (!p) return;
    this.pending.delete(corr);
    try {
      const json = this.wasm.toJson(bytes, { direction: "response", apiKey: p.key, apiVersion: p.version, sizePrefix: "present" });
      p.ok(JSON.parse(json).body);
    } catch (e) {
      p.fail(new Error(`${p.api} v${p.version} response: ${e.message}`));
    }
  }

  /// The version to send of `api`, or null when the broker does not serve it.
  version(api) {
    const [key, min, max] = WANT[api];
    if (!this.versions) return max;
    const b = this.versions.get(key);
    if (!b) return null;
    const v = Math.min(max, b.max);
    return v >= Math.max(min, b.min) ? v : null;
  }

  /// Sends `api` with `body`; resolves to the response's body.
  request(api, body) {
    const version = this.version(api);
    if (version === null) return Promise.reject(new Error(`the broker does not serve ${api}`));
    const corr = this.next++;
    const frame = this.wasm.fromJson(JSON.stringify({
      api, version, header: { correlation_id: corr, client_id: "spate-console" }, body,
    }));
    return new Promise((ok, fail) => {
      this.pending.set(corr, { ok, fail, api, key: WANT[api][0], version });
      this.ws.send(frame);
    });
  }

  /// ApiVersions first, as a client does: later requests use versions
  /// both sides know.
  async handshake() {
    await this.opened;
    const r = await this.request("ApiVersions", { client_software_name: "spate-console", client_software_version: "1" });
    if (r.error_code) throw new Error(`ApiVersions: error ${r.error_code}`);
    this.versions = new Map(r.api_keys.map((k) => [k.api_key, { min: k.min_version, max: k.max_version }]));
  }

  close() { this.ws.close(); }
}

// ---------------------------------------------------------------- helpers

const el = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v; else if (k === "data") Object.assign(e.dataset, v); else e[k] = v;
  }
  e.append(...kids.filter((k) => k !== null && k !== undefined).map((k) => (typeof k === "object" ? k : String(k))));
  return e;
};

const num = (n) => (n === null || n === undefined || n < 0 ? "–" : n.toLocaleString("en"));
const bytesText = (n) => (n === undefined || n < 0 ? "–" : n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`);

function table(caption, heads, rows, cls) {
  const t = el("table", { class: `console-table ${cls}` }, caption ? el("caption", {}, caption) : null);
  t.append(el("tr", {}, ...heads.map((h) => el("th", { scope: "col" }, h))));
  for (const r of rows) t.append(r);
  return t;
}

/// A record key, value or header value as the JSON codec gives it: text,
/// `{hex}`, or null.
const shown = (v) => (v === null || v === undefined ? el("span", { class: "muted" }, "null")
  : typeof v === "string" ? v : el("span", { class: "hexval" }, `0x${v.hex}`));

/// A consumer group member's assignment (ConsumerProtocolAssignment):
/// `topic-partition` names, or null when the bytes are not one.
function assignment(hex) {
  if (!hex) return [];
  const b = Uint8Array.from(hex.match(/../g) || [], (x) => parseInt(x, 16));
  const v = new DataView(b.buffer);
  let at = 2;
  const need = (n) => { if (at + n > b.length) throw new Error("short"); };
  try {
    need(4);
    const topics = v.getInt32(at); at += 4;
    const out = [];
    for (let i = 0; i < topics; i++) {
      need(2);
      const len = v.getInt16(at); at += 2;
      need(len);
      const name = new TextDecoder().decode(b.subarray(at, at + len)); at += len;
      need(4);
      const n = v.getInt32(at); at += 4;
      for (let j = 0; j < n; j++) { need(4); out.push(`${name}-${v.getInt32(at)}`); at += 4; }
    }
    return out;
  } catch {
    return null;
  }
}

/// A small live plot: the last SAMPLES values as an SVG line with its
/// current value.
function plot(id, label, source, values) {
  const w = 240, h = 56;
  const peak = Math.max(0, ...values);
  const max = Math.max(1, peak);
  // The newest sample at the right edge; older ones move left.
  const x0 = (SAMPLES - values.length) * w / (SAMPLES - 1);
  const pts = values.map((y, i) => `${(x0 + i * w / (SAMPLES - 1)).toFixed(1)},${(h - 2 - y / max * (h - 6)).toFixed(1)}`).join(" ");
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("role", "img");
  const last = values.length ? values[values.length - 1] : 0;
  svg.setAttribute("aria-label", `${label}: ${last.toFixed(1)} per second`);
  const base = document.createElementNS(ns, "line");
  Object.entries({ x1: 0, y1: h - 2, x2: w, y2: h - 2, class: "axis" }).forEach(([k, v]) => base.setAttribute(k, v));
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts);
  line.setAttribute("class", "rate");
  svg.append(base, line);
  const box = $(id);
  box.replaceChildren(
    el("div", { class: "plot-head" }, el("span", {}, label), el("strong", { class: "plot-value" }, values.length ? `${last.toFixed(1)}/s` : "measuring…")),
    svg,
    el("div", { class: "plot-foot muted" }, `${source}; peak ${peak.toFixed(1)}/s in ${SAMPLES} s`),
  );
}

// ---------------------------------------------------------------- the view

/// What one refresh learnt.
async function snapshot(relay, chosen) {
  const md = await relay.request("Metadata", { topics: null, allow_auto_topic_creation: false });
  const brokers = new Map(md.brokers.map((b) => [b.node_id, `${b.host}:${b.port}`]));
  const topics = md.topics.filter((t) => !t.error_code).map((t) => ({
    name: t.name, internal: t.is_internal,
    partitions: t.partitions.map((p) => ({ index: p.partition_index, leader: p.leader_id, replicas: p.replica_nodes, isr: p.isr_nodes, error: p.error_code }))
      .sort((a, b) => a.index - b.index),
  })).sort((a, b) => a.name.localeCompare(b.name));
  const all = topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partition_index: p.index, timestamp: 0 })) }));
  const offsets = async (ts) => {
    if (!all.length) return new Map();
    const body = { replica_id: -1, isolation_level: 0, topics: all.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ ...p, timestamp: ts })) })) };
    const r = await relay.request("ListOffsets", body);
    const m = new Map();
    for (const t of r.topics) for (const p of t.partitions) m.set(`${t.name}/${p.partition_index}`, p.error_code ? { error: p.error_code } : p.offset);
    return m;
  };
  const sizes = relay.version("DescribeLogDirs") === null ? Promise.resolve(null)
    : relay.request("DescribeLogDirs", { topics: null }).then((r) => {
      const m = new Map();
      for (const d of r.results) for (const t of d.topics) for (const p of t.partitions) m.set(`${t.name}/${p.partition_index}`, (m.get(`${t.name}/${p.partition_index}`) || 0) + p.partition_size);
      return m;
    });
  const groups = relay.request("ListGroups", {}).then(async (r) => {
    const ids = r.groups.map((g) => g.group_id).sort();
    if (!ids.length) return [];
    const d = await relay.request("DescribeGroups", { groups: ids });
    const committed = await Promise.all(ids.map((g) => relay.request("OffsetFetch", { group_id: g, topics: null })
      .then((o) => o.topics.flatMap((t) => t.partitions.filter((p) => !p.error_code && p.committed_offset >= 0)
        .map((p) => ({ topic: t.name, partition: p.partition_index, offset: p.committed_offset }))))
      .catch((e) => ({ error: e.message }))));
    return d.groups.map((g, i) => ({ ...g, committed: committed[i] }));
  });
  const [earliest, latest, size, gs] = await Promise.all([offsets(-2), offsets(-1), sizes, groups]);
  const recent = chosen ? await fetchRecent(relay, topics.find((t) => t.name === chosen), earliest, latest) : null;
  const cluster = { id: md.cluster_id, controller: md.controller_id };
  return { cluster, brokers, topics, earliest, latest, size, groups: gs, recent, at: performance.now() };
}

/// The last records of `topic`: a Fetch of each partition from a few
/// offsets before its end, newest first.
async function fetchRecent(relay, topic, earliest, latest, want = 20) {
  if (!topic) return [];
  const parts = topic.partitions.map((p) => {
    const end = latest.get(`${topic.name}/${p.index}`), start = earliest.get(`${topic.name}/${p.index}`);
    const from = typeof end === "number" ? Math.max(typeof start === "number" ? start : 0, end - want) : 0;
    return { partition: p.index, fetch_offset: from, partition_max_bytes: 256 * 1024, current_leader_epoch: -1, log_start_offset: -1 };
  });
  const r = await relay.request("Fetch", {
    replica_id: -1, max_wait_ms: 0, min_bytes: 0, max_bytes: 1 << 20, isolation_level: 0, session_id: 0, session_epoch: -1,
    topics: [{ topic: topic.name, partitions: parts }], forgotten_topics_data: [], rack_id: "",
  });
  const out = [];
  for (const t of r.responses) for (const p of t.partitions) {
    if (p.error_code) { out.push({ partition: p.partition_index, error: p.error_code }); continue; }
    const from = parts.find((x) => x.partition === p.partition_index)?.fetch_offset ?? 0;
    if (!Array.isArray(p.records)) continue; // not v2 batches (a legacy message set): shown as nothing
    for (const b of p.records) {
      if (b.control) continue;
      for (const rec of b.records) {
        const offset = b.base_offset + rec.offset_delta;
        if (offset < from) continue;
        out.push({ partition: p.partition_index, offset, timestamp: b.base_timestamp + rec.timestamp_delta, key: rec.key, value: rec.value, headers: rec.headers });
      }
    }
  }
  return out.filter((x) => x.error === undefined).sort((a, b) => b.timestamp - a.timestamp || b.offset - a.offset).slice(0, want)
    .concat(out.filter((x) => x.error !== undefined));
}

function renderTopics(s) {
  const rows = [];
  const shownTopics = s.topics.filter((t) => !t.internal);
  for (const t of shownTopics) {
    for (const p of t.partitions) {
      const k = `${t.name}/${p.index}`;
      const lo = s.earliest.get(k), hi = s.latest.get(k);
      rows.push(el("tr", { data: { topic: t.name, partition: p.index } },
        el("td", {}, p.index === t.partitions[0].index ? t.name : ""),
        el("td", { class: "n" }, p.index),
        el("td", { class: "n" }, p.leader < 0 ? "none" : `${p.leader}${s.brokers.has(p.leader) ? ` (${s.brokers.get(p.leader)})` : ""}`),
        el("td", { class: "n" }, p.isr.length < p.replicas.length ? `${p.isr.length}/${p.replicas.length} in sync` : `${p.replicas.length}`),
        el("td", { class: "n earliest" }, typeof lo === "number" ? num(lo) : `error ${lo?.error}`),
        el("td", { class: "n latest" }, typeof hi === "number" ? num(hi) : `error ${hi?.error}`),
        el("td", { class: "n" }, typeof hi === "number" && typeof lo === "number" ? num(hi - lo) : "–"),
        el("td", { class: "n size" }, s.size ? bytesText(s.size.get(k)) : "–")));
    }
  }
  const hidden = s.topics.length - shownTopics.length;
  const note = [`${shownTopics.length} topic${shownTopics.length === 1 ? "" : "s"}`];
  if (hidden) note.push(`${hidden} internal not shown`);
  if (!s.size) note.push("no sizes: the broker does not serve DescribeLogDirs");
  $("console-topics").replaceChildren(el("p", { class: "muted note" }, `${note.join("; ")}.`), shownTopics.length
    ? table(null, ["topic", "partition", "leader", "replicas", "earliest", "latest", "records", "size"], rows, "topics")
    : el("p", { class: "muted" }, "No topics yet."));
}

function renderGroups(s) {
  const box = $("console-groups");
  if (s.groups.error) { box.replaceChildren(el("p", { class: "error" }, `Groups: ${s.groups.error}`)); return; }
  if (!s.groups.length) { box.replaceChildren(el("p", { class: "muted" }, "No consumer groups.")); return; }
  const parts = [];
  for (const g of s.groups) {
    const owner = new Map();
    const members = g.members.map((m) => {
      const a = g.protocol_type === "consumer" ? assignment(m.member_assignment) : [];
      for (const tp of a || []) owner.set(tp, m.client_id || m.member_id);
      return el("li", {}, el("strong", {}, m.client_id || "(no client id)"), ` at ${m.client_host.replace(/^\//, "")}: `,
        a === null ? el("span", { class: "muted" }, "(assignment not readable)") : a.length ? a.join(", ") : el("span", { class: "muted" }, "nothing assigned"),
        el("span", { class: "muted member-id" }, ` (member ${m.member_id})`));
    });
    const rows = [];
    let total = 0;
    if (Array.isArray(g.committed)) {
      for (const c of g.committed.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)) {
        const end = s.latest.get(`${c.topic}/${c.partition}`);
        const lag = typeof end === "number" ? Math.max(0, end - c.offset) : undefined;
        if (lag !== undefined) total += lag;
        rows.push(el("tr", { data: { topic: c.topic, partition: c.partition } },
          el("td", {}, c.topic), el("td", { class: "n" }, c.partition), el("td", { class: "n committed" }, num(c.offset)),
          el("td", { class: "n" }, typeof end === "number" ? num(end) : "–"), el("td", { class: "n lag" }, lag === undefined ? "–" : num(lag)),
          el("td", {}, owner.get(`${c.topic}-${c.partition}`) || "")));
      }
    }
    const head = el("h4", {}, el("span", { class: "group-id" }, g.group_id), " ",
      el("span", { class: `state state-${(g.group_state || "").toLowerCase()}` }, g.error_code ? `error ${g.error_code}` : g.group_state),
      el("span", { class: "muted" }, ` ${g.protocol_type || "?"}${g.protocol_data ? ` (${g.protocol_data})` : ""}, ${g.members.length} member${g.members.length === 1 ? "" : "s"}, lag ${num(total)}`));
    const committed = Array.isArray(g.committed)
      ? rows.length ? table("Committed offsets and lag (latest − committed)", ["topic", "partition", "committed", "latest", "lag", "member"], rows, "lag")
        : el("p", { class: "muted" }, "No committed offsets.")
      : el("p", { class: "error" }, g.committed.error);
    parts.push(el("div", { class: "group", data: { group: g.group_id } }, head, members.length ? el("ul", { class: "members" }, ...members) : null, committed));
  }
  box.replaceChildren(...parts);
}

function renderRecords(s, chosen) {
  const sel = $("console-topic");
  const names = s.topics.filter((t) => !t.internal).map((t) => t.name);
  if ([...sel.options].map((o) => o.value).join("\n") !== names.join("\n")) {
    sel.replaceChildren(...names.map((n) => el("option", { value: n, selected: n === chosen }, n)));
  }
  const box = $("console-records");
  if (!s.recent) { box.replaceChildren(el("p", { class: "muted" }, "No topic to show.")); return; }
  if (!s.recent.length) { box.replaceChildren(el("p", { class: "muted" }, `No records in ${chosen} yet.`)); return; }
  const rows = s.recent.map((r) => r.error !== undefined
    ? el("tr", {}, el("td", { class: "n" }, r.partition), el("td", { colSpan: 5, class: "error" }, `Fetch error ${r.error}`))
    : el("tr", {},
      el("td", { class: "n" }, r.partition), el("td", { class: "n offset" }, num(r.offset)),
      el("td", { class: "n" }, new Date(r.timestamp).toISOString().replace("T", " ").replace("Z", "")),
      el("td", { class: "key" }, shown(r.key)), el("td", { class: "value" }, shown(r.value)),
      el("td", {}, ...r.headers.flatMap((h, i) => [i ? ", " : "", `${h.key}=`, shown(h.value)]))));
  box.replaceChildren(table(`The last ${s.recent.length} records of ${chosen}, newest first`, ["partition", "offset", "timestamp (UTC)", "key", "value", "headers"], rows, "records"));
}

// ---------------------------------------------------------------- wiring

/// Starts the console: connects, refreshes every second, reconnects when
/// asked.
export function startConsole(wasm) {
  const section = $("console-section");
  section.hidden = false;
  $("console-nav").hidden = false;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/console`;
  const state = { relay: null, timer: null, busy: false, prev: null, rateIn: [], rateOut: [], chosen: "", refreshes: 0 };
  const say = (text, cls = "muted") => { const st = $("console-status"); st.textContent = text; st.className = cls; };

  async function tick() {
    if (state.busy || !state.relay) return;
    state.busy = true;
    try {
      const chosen = $("console-topic").value || state.chosen;
      const s = await snapshot(state.relay, chosen);
      const names = s.topics.filter((t) => !t.internal).map((t) => t.name);
      state.chosen = names.includes(chosen) ? chosen : names[0] || "";
      if (state.chosen !== chosen) s.recent = state.chosen ? await fetchRecent(state.relay, s.topics.find((t) => t.name === state.chosen), s.earliest, s.latest) : null;
      const sumIn = [...s.latest.values()].filter((v) => typeof v === "number").reduce((a, b) => a + b, 0);
      const sumOut = (Array.isArray(s.groups) ? s.groups : []).flatMap((g) => (Array.isArray(g.committed) ? g.committed : [])).reduce((a, c) => a + c.offset, 0);
      if (state.prev) {
        const dt = (s.at - state.prev.at) / 1000;
        state.rateIn.push(Math.max(0, (sumIn - state.prev.sumIn) / dt));
        state.rateOut.push(Math.max(0, (sumOut - state.prev.sumOut) / dt));
        for (const r of [state.rateIn, state.rateOut]) while (r.length > SAMPLES) r.shift();
      }
      state.prev = { at: s.at, sumIn, sumOut };
      plot("console-in", "messages in", "from log end offsets", state.rateIn);
      plot("console-out", "messages out", "from committed offsets", state.rateOut);
      renderTopics(s);
      renderGroups(s);
      renderRecords(s, state.chosen);
      state.refreshes++;
      section.dataset.refreshes = state.refreshes;
      const brokers = [...s.brokers].map(([id, at]) => `${id} at ${at}`).join(", ");
      say(`Live: cluster ${s.cluster.id ?? "(no id)"}, controller ${s.cluster.controller}, broker${s.brokers.size === 1 ? "" : "s"} ${brokers}; refreshed ${new Date().toLocaleTimeString()} (${state.refreshes} time${state.refreshes === 1 ? "" : "s"})`);
    } catch (e) {
      say(`Refresh failed: ${e.message}`, "error");
    } finally {
      state.busy = false;
    }
  }

  async function connect() {
    if (state.relay) state.relay.close();
    clearInterval(state.timer);
    say("Connecting…");
    const relay = new Relay(wasm, url);
    state.relay = relay;
    relay.closed.then((why) => {
      if (state.relay !== relay) return;
      clearInterval(state.timer);
      state.relay = null;
      say(`Disconnected: ${why}.`, "error");
      $("console-connect").hidden = false;
    });
    try {
      await relay.handshake();
    } catch (e) {
      say(`Could not start: ${e.message}`, "error");
      return;
    }
    $("console-connect").hidden = true;
    await tick();
    state.timer = setInterval(tick, 1000);
  }

  $("console-connect").addEventListener("click", connect);
  $("console-topic").addEventListener("change", () => { state.chosen = $("console-topic").value; tick(); });
  connect();
}
