// The playground page: wires the input, the frame views, the in-page
// broker, the gallery, the version view and the state panel together.
// The first screen and the guided conversations are guide.js's.
// Everything runs here; the page makes no network request but for its own
// files, and, when served by `spate serve`, server.json (which of
// --inspect and --console are on) and the WebSockets of those two.

import { FrameView, Tree } from "./frameview.js";
import { LiveSequence } from "./sequence.js";
import { CompareView } from "./compare.js";
import { startGuide } from "./guide.js";

const $ = (id) => document.getElementById(id);
const status = $("status");

let wasm;
try {
  wasm = await import("../pkg/spate_wasm.js");
  await wasm.default();
} catch (e) {
  status.textContent = "The playground's WebAssembly is not built (web/pkg/ is missing): run scripts/build-web, then reload. " + e;
  status.className = "error";
  throw e;
}

const apis = wasm.apis();
const apiByKey = new Map(apis.map((a) => [a.key, a]));
const apiByName = new Map(apis.map((a) => [a.name, a]));
const schemas = new Map();
function schemaOf(key, direction) {
  const k = `${key}/${direction}`;
  if (!schemas.has(k)) schemas.set(k, wasm.schema(key, direction));
  return schemas.get(k);
}

const range = (v) => (v.min > v.max ? "" : v.max === 32767 ? `${v.min}+` : v.min === v.max ? `${v.min}` : `${v.min}–${v.max}`);

/// Field facts for a span, from its ancestry (root first): walks the
/// schema by field names; wire parts fall back to the project's
/// descriptions by name.
function describeField(spans) {
  const root = spans[0];
  const target = spans[spans.length - 1];
  const m = /^(\w+?)(Request|Response) v(\d+)$/.exec(root.kind || "");
  let fields = null;
  let field = null;
  if (m && apiByName.has(m[1])) {
    const sch = schemaOf(apiByName.get(m[1]).key, m[2].toLowerCase());
    for (const s of spans.slice(1)) {
      if (fields === null) {
        fields = s.name === "header" ? sch.header : s.name === "body" ? sch.body : null;
        if (fields === null) break;
        continue;
      }
      const f = fields.find((f) => f.name === s.name);
      if (f) { field = s === target ? f : null; fields = f.fields || []; }
      else if (!/^\[\d+\]$/.test(s.name)) { field = null; if (s !== target) break; }
    }
  }
  if (field) {
    return {
      type: field.type,
      versions: range(field.versions),
      nullable: range(field.nullable),
      tagged: range(field.tagged) ? `${range(field.tagged)} (tag ${field.tag})` : "",
      description: field.description,
    };
  }
  const d = wasm.describe(target.name.replace(/^\[\d+\]$/, ""));
  return d ? { description: d } : null;
}

const reqView = new FrameView($("request-frame"), describeField, editByte);
const respView = new FrameView($("response-frame"), describeField, null);
let current = { bytes: new Uint8Array(0), ann: null };
let timer; // the explain that typing in the input schedules
let pg;
// The gallery request being shown, {key, version}, if the input is one
// (its Send first makes the state the example needs); null otherwise.
let galleryRequest = null;

// ------------------------------------------------------------------ input

function toHex(bytes) {
  const lines = [];
  for (let i = 0; i < bytes.length; i += 16) {
    lines.push(Array.from(bytes.subarray(i, i + 16), (b) => b.toString(16).padStart(2, "0")).join(" "));
  }
  return lines.join("\n");
}

function options() {
  const o = { direction: $("direction").value, sizePrefix: $("prefix").value };
  if (o.direction === "response") {
    o.apiKey = +$("resp-api").value;
    o.apiVersion = +$("resp-version").value;
  }
  return o;
}

/// Annotates `bytes` with the current options and shows them. Returns the annotation.
function explainBytes(bytes) {
  const ann = new Tree(wasm.annotate(bytes, options()));
  current = { bytes, ann };
  $("req-title").textContent = `${ann.title}, ${bytes.length} bytes`;
  reqView.show(bytes, ann);
  const err = $("error");
  const problems = [];
  // The message names the field, its type, the byte and the problem: said once.
  const where = (e) => (/[.[]/.test(e.field) ? ` (in ${e.field})` : "");
  if (ann.error) {
    problems.push(`Decoding stopped: ${ann.error.message}${where(ann.error)}. The tree shows what was decoded before it.`);
  }
  for (let k = 1; k <= ann.bufferCount; k++) {
    const e = ann.bufferError(k);
    if (e) problems.push(`In the ${ann.bufferLabel(k)} (decoded buffer ${k}), decoding stopped: ${e.message}${where(e)}.`);
  }
  err.hidden = !problems.length;
  err.textContent = problems.join(" ");
  $("send").disabled = $("direction").value !== "request" || !pg;
  return ann;
}

/// Shows no frame: nothing to explain or send (empty or unreadable input).
/// What an earlier input showed must not stay on screen as if it were this one's.
function clearFrame() {
  current = { bytes: new Uint8Array(0), ann: null };
  $("req-title").textContent = "";
  reqView.clear();
  respView.clear();
  $("resp-title").textContent = "";
  $("response-frame").hidden = true;
  document.querySelector(".frames").classList.remove("two");
  $("send").disabled = true;
  $("shape").textContent = "";
}

function explain() {
  // An explicit explain (button, option change) supersedes a pending one
  // from typing; running both would reset the view under the user.
  clearTimeout(timer);
  const text = $("input").value;
  $("error").hidden = true;
  if (!text.trim()) { clearFrame(); return; }
  let parsed;
  try {
    parsed = wasm.parseInput(text, $("base64").checked);
  } catch (e) {
    clearFrame();
    const err = $("error");
    err.hidden = false;
    err.textContent = `The input is not readable as bytes: ${e.message}`;
    return;
  }
  const ann = explainBytes(parsed.bytes);
  const prefix = ann.first[0] >= 0 && ann.span(ann.first[0]).name === "size";
  $("shape").textContent = `Read as ${parsed.shape}: ${parsed.bytes.length} bytes; size prefix ${prefix ? "present" : "absent"}${$("prefix").value === "auto" ? " (detected)" : ""}.`;
  saveFragment(parsed.bytes);
}

function loadBytes(bytes, opts = {}) {
  galleryRequest = opts.gallery || null;
  if (opts.direction) $("direction").value = opts.direction;
  if (opts.apiKey !== undefined) $("resp-api").value = opts.apiKey;
  if (opts.apiVersion !== undefined) $("resp-version").value = opts.apiVersion;
  $("response-opts").hidden = $("direction").value !== "response";
  $("base64").checked = false;
  $("input").value = toHex(bytes);
  explain();
}

function editByte(offset, bytes) {
  const next = current.bytes.slice();
  next.set(bytes, offset);
  const sel = reqView.selected;
  loadBytes(next);
  if (sel !== undefined && sel < reqView.count) reqView.select(sel);
}

// ------------------------------------------------------------------ share

function b64url(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(s) {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function saveFragment(bytes) {
  const p = new URLSearchParams();
  // Large frames stay out of the URL (browsers cap its length).
  if (bytes.length <= 48 * 1024) p.set("in", b64url(bytes));
  const o = options();
  p.set("dir", o.direction);
  p.set("prefix", o.sizePrefix);
  if (o.direction === "response") { p.set("key", o.apiKey); p.set("ver", o.apiVersion); }
  history.replaceState(null, "", `#${p}`);
}

function restoreFragment() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (!p.has("in")) return false;
  $("prefix").value = p.get("prefix") || "auto";
  loadBytes(fromB64url(p.get("in")), {
    direction: p.get("dir") || "request",
    apiKey: p.has("key") ? +p.get("key") : undefined,
    apiVersion: p.has("ver") ? +p.get("ver") : undefined,
  });
  return true;
}

// ------------------------------------------------------------------ broker

function headerValue(ann, name) {
  const h = ann.child(0, "header");
  const f = h >= 0 ? ann.child(h, name) : -1;
  return f >= 0 ? Number(ann.span(f).value) : undefined;
}

/// The nonzero error codes of a response tree, by name (from their notes).
function errorNames(t) {
  const out = [];
  for (let i = 0; i < t.count; i++) {
    const s = t.span(i);
    if (/error_code$/.test(s.name) && s.value !== undefined && Number(s.value) !== 0) out.push(s.note || `error ${s.value}`);
  }
  return [...new Set(out)];
}

/// Before a gallery request, what a client would have done first (the
/// example topic exists, or is gone for CreateTopics; see
/// spate_core::example::sendable::setup). Returns what was sent, as
/// sentences, or "".
async function prepareGallery(key) {
  const topic = pg.state().topics.find((t) => t.name === wasm.exampleTopic());
  let said = "";
  for (const step of wasm.sendableSetup(key, topic ? topic.partitions.length : undefined)) {
    await pg.handle(wasm.sendableExample(step.key, step.version), undefined, "present");
    said += `First sent ${step.name} v${step.version}: ${step.why}. `;
  }
  return said;
}

async function send() {
  const ann = current.ann;
  const key = headerValue(ann, "request_api_key");
  const version = headerValue(ann, "request_api_version");
  const frame = $("response-frame");
  frame.hidden = false;
  document.querySelector(".frames").classList.add("two");
  let before = "";
  try {
    if (galleryRequest) {
      const g = galleryRequest;
      before = await prepareGallery(g.key);
      // Newer versions name the topic by its id, which it may only now have.
      const fresh = pg.example(g.key, g.version);
      if (fresh.length !== current.bytes.length || fresh.some((b, i) => b !== current.bytes[i])) {
        loadBytes(fresh, { direction: "request", gallery: g });
        before += `The request now names ${wasm.exampleTopic()} by its topic id. `;
      }
    }
    // The page's size prefix choice reaches the broker, read by the explainer's rule.
    const resp = await pg.handle(current.bytes, undefined, $("prefix").value);
    if (resp === null || resp === undefined) {
      $("resp-title").textContent = `${before}No response: a produce with acks=0 is never answered (as in Kafka). The records were written.`;
      respView.clear();
    } else {
      const rann = new Tree(wasm.annotate(resp, { direction: "response", apiKey: key, apiVersion: version, sizePrefix: "present" }));
      const errs = errorNames(rann);
      let outcome = errs.length ? ` — ${errs.join(", ")}` : " — no error";
      if (galleryRequest) {
        const want = wasm.sendableExpected(galleryRequest.key, galleryRequest.version);
        if (want) outcome += errs.length === 1 && errs[0] === want.error ? ` (expected: ${want.why})` : ` (the example expects ${want.error}: ${want.why})`;
      }
      $("resp-title").textContent = `${before}${rann.title}, ${resp.length} bytes${rann.error ? ` — error: ${rann.error.message}` : outcome}`;
      respView.show(resp, rann);
    }
  } catch (e) {
    // A gallery request of an API this broker does not serve: closing is the answer, as in Kafka.
    const unserved = galleryRequest && !pg.serves(galleryRequest.key) ? ` (expected: this broker does not serve ${apiByKey.get(galleryRequest.key).name})` : "";
    $("resp-title").textContent = e.sent === false ? `Not sent: ${e.message}.` : `${before}The broker closed the connection: ${e.message}.${unserved}`;
    respView.clear();
  }
  renderState();
}

function renderState() {
  const st = pg.state();
  const box = $("state");
  box.replaceChildren();
  const table = document.createElement("table");
  table.innerHTML = "<caption>Topics</caption><thead><tr><th scope=col>topic</th><th scope=col>partition</th><th scope=col>log start</th><th scope=col>high watermark</th><th scope=col title=\"where read_committed consumers stop: the first offset of the earliest open transaction\">last stable</th><th scope=col>bytes</th></tr></thead>";
  const body = document.createElement("tbody");
  for (const t of st.topics) {
    // Internal topics have 50 partitions, mostly empty: show the ones that
    // hold something, and say how many others there are.
    const shown = t.internal ? t.partitions.filter((p) => p.highWatermark > 0) : t.partitions;
    for (const p of shown) {
      const tr = document.createElement("tr");
      tr.className = t.internal ? "internal" : "";
      for (const v of [t.name + (t.internal ? " (internal)" : ""), p.partition, p.logStartOffset, p.highWatermark, p.lastStableOffset, p.bytes]) {
        const td = document.createElement("td");
        td.textContent = String(v);
        tr.append(td);
      }
      body.append(tr);
    }
    const hidden = t.partitions.length - shown.length;
    if (hidden > 0) {
      const tr = document.createElement("tr");
      tr.className = "internal";
      const name = document.createElement("td");
      name.textContent = `${t.name} (internal)`;
      const rest = document.createElement("td");
      rest.colSpan = 5;
      rest.textContent = `${hidden} ${shown.length ? "more " : ""}empty partition${hidden === 1 ? "" : "s"} not shown`;
      tr.append(name, rest);
      body.append(tr);
    }
  }
  if (!st.topics.length) body.innerHTML = "<tr><td colspan=6>No topics yet: send a CreateTopics, or a Metadata request that auto-creates one.</td></tr>";
  table.append(body);
  const groups = document.createElement("p");
  groups.textContent = st.groups.length
    ? `Groups: ${st.groups
        .map((g) => {
          const offsets = g.offsets.map((o) => `${o.topic}-${o.partition}@${o.offset}`).join(" ");
          return `${g.name} (${g.groupType}, ${g.state}, epoch ${g.epoch}, ${g.members.length} member${g.members.length === 1 ? "" : "s"}${offsets ? `; offsets ${offsets}` : ""})`;
        })
        .join("; ")}`
    : "Groups: none yet (send a JoinGroup, or an OffsetCommit with generation -1).";
  const txns = document.createElement("p");
  txns.id = "state-transactions";
  txns.textContent = st.transactions.length
    ? `Transactions: ${st.transactions
        .map((t) => {
          const parts = t.partitions.length ? `; partitions ${t.partitions.join(" ")}` : "";
          return `${t.transactionalId} (${t.state}, producer ${t.producerId} epoch ${t.producerEpoch}, timeout ${t.timeoutMs} ms${parts})`;
        })
        .join("; ")}`
    : "Transactions: none yet (send an InitProducerId with a transactional id).";
  box.append(table, groups, txns);
}

// ------------------------------------------------------------------ gallery, builder, versions

function fillApiSelect(sel) {
  for (const a of apis) {
    const o = document.createElement("option");
    o.value = a.key;
    o.textContent = `${a.name} (${a.key})`;
    sel.append(o);
  }
}

function renderGallery() {
  const box = $("gallery");
  for (const a of apis) {
    const div = document.createElement("div");
    div.className = "api";
    const h = document.createElement("span");
    h.textContent = a.name;
    div.append(h);
    const versions = a.minVersion === a.maxVersion ? [a.minVersion] : [a.minVersion, a.maxVersion];
    for (const v of versions) {
      for (const dir of ["request", "response"]) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "example";
        b.dataset.key = a.key;
        b.dataset.version = v;
        b.dataset.direction = dir;
        b.textContent = `v${v} ${dir === "request" ? "req" : "resp"}`;
        b.setAttribute("aria-label", `${a.name} ${dir} version ${v}`);
        div.append(b);
      }
    }
    box.append(div);
  }
  // A whole SASL/SCRAM-SHA-256 authentication (RFC 7677's example values).
  const sasl = wasm.saslExamples();
  const div = document.createElement("div");
  div.className = "api";
  const h = document.createElement("span");
  h.textContent = "SASL/SCRAM-SHA-256 exchange (RFC 7677)";
  div.append(h);
  sasl.forEach((f, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "example sasl-example";
    b.dataset.sasl = i;
    b.textContent = f.name.split(": ")[1];
    b.setAttribute("aria-label", f.name);
    div.append(b);
  });
  box.append(div);
  box.addEventListener("click", (e) => {
    const s = e.target.closest("button.sasl-example");
    if (s) {
      const f = sasl[+s.dataset.sasl];
      loadBytes(f.bytes, { direction: f.direction, apiKey: f.apiKey, apiVersion: f.apiVersion });
      $("explain-section").scrollIntoView();
      return;
    }
    const b = e.target.closest("button.example");
    if (!b) return;
    const key = +b.dataset.key, v = +b.dataset.version, dir = b.dataset.direction;
    // Requests are ones to send (values a broker takes); responses show every field.
    const bytes = dir === "request" ? pg.example(key, v) : wasm.example(key, v, dir, "full", 1);
    $("prefix").value = "auto";
    loadBytes(bytes, { direction: dir, apiKey: key, apiVersion: v, gallery: dir === "request" ? { key, version: v } : null });
    $("explain-section").scrollIntoView();
  });
}

function fillVersions(selApi, selVersion) {
  const a = apiByKey.get(+selApi.value);
  selVersion.replaceChildren();
  for (let v = a.minVersion; v <= a.maxVersion; v++) {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = `v${v}${a.flexibleFrom !== null && a.flexibleFrom !== undefined && v >= a.flexibleFrom ? " (flexible)" : ""}`;
    selVersion.append(o);
  }
  selVersion.value = a.maxVersion;
}

// The JSON editor: toJson of a frame, fromJson back to bytes that load
// into the explain view (so tree, share link and "Send to broker" see them).

function buildError(msg) {
  const e = $("build-error");
  e.hidden = !msg;
  e.textContent = msg || "";
  if (msg) $("build-status").textContent = "";
}

/// Shows `bytes` as JSON in the builder. Returns whether it could.
function showJson(bytes, opts, what = "the example") {
  try {
    $("build-json").value = wasm.toJson(bytes, opts);
  } catch (e) {
    buildError(`${what} cannot be shown as JSON: ${e.message}`);
    return false;
  }
  buildError("");
  $("build-status").textContent = `${what[0].toUpperCase()}${what.slice(1)} as JSON: edit it, then Encode (Ctrl+Enter).`;
  return true;
}

function encodeJson() {
  const text = $("build-json").value;
  let bytes;
  try {
    bytes = wasm.fromJson(text);
  } catch (e) {
    buildError(`Not encoded: ${e.message}`);
    return;
  }
  buildError("");
  // fromJson accepted it, so it parses; only api, version and side are read here.
  const top = JSON.parse(text);
  const api = typeof top.api === "number" ? apiByKey.get(top.api) : apiByName.get(top.api);
  $("prefix").value = "present";
  loadBytes(bytes, { direction: top.side === "response" ? "response" : "request", apiKey: api.key, apiVersion: top.version });
  $("build-status").textContent = `Encoded: ${bytes.length} bytes, explained above.`;
}

function renderVersionTable() {
  const key = +$("versions-api").value;
  const a = apiByKey.get(key);
  const sch = schemaOf(key, $("versions-direction").value);
  const table = document.createElement("table");
  table.className = "versions";
  const cap = document.createElement("caption");
  cap.textContent = `${sch.name}: which fields exist in which versions (● inline, T tagged, n nullable)`;
  table.append(cap);
  const head = document.createElement("tr");
  head.innerHTML = "<th scope=col>field</th><th scope=col>type</th>";
  for (let v = a.minVersion; v <= a.maxVersion; v++) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = `v${v}`;
    head.append(th);
  }
  table.append(head);
  const walk = (fields, depth) => {
    for (const f of fields) {
      const tr = document.createElement("tr");
      const name = document.createElement("th");
      name.scope = "row";
      name.style.paddingLeft = `${0.3 + depth}em`;
      name.textContent = f.name;
      name.title = f.description;
      const ty = document.createElement("td");
      ty.textContent = f.type;
      tr.append(name, ty);
      for (let v = a.minVersion; v <= a.maxVersion; v++) {
        const td = document.createElement("td");
        const inV = (r) => v >= r.min && v <= r.max;
        if (inV(f.versions)) {
          td.textContent = (inV(f.tagged) ? "T" : "●") + (inV(f.nullable) ? "n" : "");
          td.className = "yes";
        }
        tr.append(td);
      }
      table.append(tr);
      if (f.fields) walk(f.fields, depth + 1);
    }
  };
  walk(sch.body, 0);
  $("versions").replaceChildren(table);
}

// ------------------------------------------------------------------ live traffic

const live = { ws: null, corr: new Map(), count: 0 };

/// Explains a frame from Live traffic (the list, or a sequence diagram's arrow).
function explainLive(bytes, opts) {
  $("prefix").value = "present";
  loadBytes(bytes, opts);
  $("explain-section").scrollIntoView();
}

const liveSeq = new LiveSequence($("live-sequence"), {
  apiName: (key) => (apiByKey.has(key) ? apiByKey.get(key).name : `API ${key}`),
  errorOf: (bytes, apiKey, apiVersion) => {
    const t = new Tree(wasm.annotate(bytes, { direction: "response", sizePrefix: "present", apiKey, apiVersion }));
    const errs = errorNames(t);
    t.free();
    return errs.length ? errs.join(", ") : null;
  },
  onSelect: explainLive,
});

function liveEntry(ev) {
  const bytes = Uint8Array.from(atob(ev.bytes), (c) => c.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  let ann, opts;
  if (ev.event === "request") {
    ann = wasm.annotate(bytes, { direction: "request", sizePrefix: "present" });
    if (bytes.length >= 12) {
      live.corr.set(`${ev.conn}/${view.getInt32(8)}`, { apiKey: view.getInt16(4), apiVersion: view.getInt16(6) });
    }
    opts = { direction: "request" };
  } else {
    const req = bytes.length >= 8 ? live.corr.get(`${ev.conn}/${view.getInt32(4)}`) : undefined;
    if (!req) return null;
    live.corr.delete(`${ev.conn}/${view.getInt32(4)}`);
    ann = wasm.annotate(bytes, { direction: "response", sizePrefix: "present", ...req });
    opts = { direction: "response", ...req };
  }
  const li = document.createElement("li");
  const b = document.createElement("button");
  b.type = "button";
  b.className = `traffic ${ev.event}`;
  const title = ann.title, err = ann.error;
  ann.free();
  b.textContent = `conn ${ev.conn} ${ev.event === "request" ? "→" : "←"} ${title}, ${bytes.length} bytes${err ? ` — ${err.message}` : ""}`;
  b.addEventListener("click", () => explainLive(bytes, opts));
  li.append(b);
  return li;
}

function connectLive() {
  if (live.ws) { live.ws.close(); return; }
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/inspect`);
  live.ws = ws;
  $("live-status").textContent = "connecting…";
  ws.onopen = () => { $("live-status").textContent = "connected: waiting for client traffic"; $("live-connect").textContent = "Disconnect"; };
  ws.onclose = () => {
    $("live-status").textContent = live.count ? "disconnected" : "not connected (is spate serve running with --inspect?)";
    $("live-connect").textContent = "Connect to spate serve --inspect";
    live.ws = null;
  };
  ws.onmessage = (m) => {
    const ev = JSON.parse(m.data);
    liveSeq.add(ev);
    const list = $("live");
    if (ev.event === "request" || ev.event === "response") {
      const li = liveEntry(ev);
      if (!li) return;
      live.count++;
      list.append(li);
    } else {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = ev.event === "open" ? `conn ${ev.conn} opened from ${ev.peer}`
        : ev.event === "close" ? `conn ${ev.conn} closed: ${ev.reason}` : `the page fell behind: ${ev.skipped} events skipped`;
      list.append(li);
    }
    while (list.children.length > 500) list.firstElementChild.remove();
    $("live-status").textContent = `connected: ${live.count} frames`;
  };
}

// ------------------------------------------------------------------ wiring

$("live-connect").addEventListener("click", connectLive);

fillApiSelect($("resp-api"));
fillApiSelect($("build-api"));
fillApiSelect($("versions-api"));
fillVersions($("build-api"), $("build-version"));
$("build-api").addEventListener("change", () => fillVersions($("build-api"), $("build-version")));
$("build").addEventListener("click", () => {
  const key = +$("build-api").value, v = +$("build-version").value, dir = $("build-direction").value;
  const bytes = wasm.example(key, v, dir, $("build-variant").value, 1);
  loadBytes(bytes, { direction: dir, apiKey: key, apiVersion: v });
  showJson(bytes, { direction: dir, apiKey: key, apiVersion: v, sizePrefix: "present" });
});
$("encode").addEventListener("click", encodeJson);
$("build-json").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); encodeJson(); }
});
$("edit-json").addEventListener("click", () => {
  if (!current.bytes.length) {
    // Said beside the button, not in the builder further down the page.
    const err = $("error");
    err.hidden = false;
    err.textContent = "Nothing to edit as JSON yet: paste a frame above, pick an example, or build one.";
    return;
  }
  if (showJson(current.bytes, options(), "the frame above")) {
    $("builder-section").scrollIntoView();
    $("build-json").focus();
  }
});
const compare = new CompareView($("compare-section"), {
  wasm, Tree, apis, describeField,
  liveFrames: () => liveSeq.frames(),
  takeCurrent: () => ({ bytes: current.bytes, opts: options() }),
});
$("compare").addEventListener("click", () => {
  if (!current.bytes.length) {
    const err = $("error");
    err.hidden = false;
    err.textContent = "Nothing to compare yet: paste a frame above, pick an example, or pick one in Live traffic; then Compare with… puts it beside another.";
    return;
  }
  compare.setA({ bytes: current.bytes, opts: options() });
  $("compare-section").scrollIntoView();
  $("cmp-b-input").focus();
});
$("versions-api").addEventListener("change", renderVersionTable);
$("versions-direction").addEventListener("change", renderVersionTable);

$("input").addEventListener("input", () => { galleryRequest = null; clearTimeout(timer); timer = setTimeout(explain, 250); });
$("explain").addEventListener("click", explain);
for (const id of ["prefix", "base64", "resp-api", "resp-version"]) $(id).addEventListener("change", explain);
$("direction").addEventListener("change", () => {
  $("response-opts").hidden = $("direction").value !== "response";
  explain();
});
$("send").addEventListener("click", send);
$("share").addEventListener("click", async () => {
  explain();
  try { await navigator.clipboard.writeText(location.href); $("shape").textContent += " Link copied."; } catch { $("shape").textContent += ` Link: ${location.href}`; }
});
$("reset").addEventListener("click", async () => {
  await pg.reset();
  renderState();
});
window.addEventListener("hashchange", restoreFragment);

// The first screen's request is explained while IndexedDB opens.
const opening = wasm.Playground.open("spate-playground");
// For tests and the benchmark (tests/playwright/), and the guide.
window.spate = { wasm, Tree, explainBytes, loadBytes, reqView, respView, renderState, liveSeq, compare };
const guide = startGuide(window.spate);
const shared = new URLSearchParams(location.hash.slice(1)).has("in");
if (!shared) guide.showFirstRequest();
pg = await opening;
window.spate.pg = pg;
status.textContent = "Ready: the broker runs in this page.";
status.className = "muted";
status.hidden = true; // the guide above the frames says what to do
renderState();
// The first screen: kcat's ApiVersions and the broker's answer, unless a share link says what to show.
if (shared && restoreFragment()) $("send").disabled = $("direction").value !== "request";
else await guide.firstScreen();
performance.mark("first-screen");
// Below the first screen: rendered once it is up (the gallery's 400 buttons took 80 ms before it).
renderVersionTable();
renderGallery();
window.spate.ready = true;
document.body.dataset.ready = "true";

// The Console, when the server this page came from offers one (`spate
// serve --console`); a static file server, or none, has no server.json.
try {
  const offers = await fetch("server.json", { cache: "no-store" }).then((r) => (r.ok ? r.json() : {}));
  if (offers.console) (await import("./console.js")).startConsole(wasm);
  document.body.dataset.offers = JSON.stringify(offers);
} catch {
  // No server beside the page: the in-page broker is all there is.
  document.body.dataset.offers = "{}";
}
