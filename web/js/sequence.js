// Sequence diagrams of a client's conversation with a broker: one arrow
// per request (client → broker, solid) and per response (broker → client,
// dashed), in the order they crossed the wire, labelled with the API,
// version, size and (responses) latency; the correlation id is in each
// arrow's tooltip. A consumer group's FindCoordinator, JoinGroup, SyncGroup
// and Heartbeat dance reads top to bottom.
//
// `renderSequence` takes a plain list of exchanges, so anything that holds
// requests and their responses (Live traffic, a guided conversation) can
// draw one. `LiveSequence` keeps the exchanges of `spate serve --inspect`'s
// feed per connection and draws the chosen connection's.

const SVG = "http://www.w3.org/2000/svg";
const ROW = 30; // px between two arrows
const HEAD = 46; // the lane heads
const TIME_W = 78; // the time column
const LANE_W = 420; // client lane to broker lane
const SLANT = 8; // an arrow falls this much: the frame takes time to cross
let diagrams = 0;
const KEEP = 2000; // exchanges kept per Live traffic connection
const DRAW = 400; // of which the latest are drawn

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const sizeText = (n) => (n < 10000 ? `${n} B` : n < 10_000_000 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);
const msText = (ms) => (ms < 1 ? "<1 ms" : ms < 10000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

/// The label on an exchange's request or response arrow.
export function arrowLabel(x, side) {
  const base = `${x.api} v${x.version}`;
  if (side === "request") return `${base} · ${sizeText(x.requestSize ?? x.request.length)}`;
  const parts = [base, sizeText(x.responseSize ?? x.response.length)];
  if (x.latencyMs !== undefined && x.latencyMs !== null) parts.push(msText(x.latencyMs));
  if (x.error) parts.push(x.error);
  return parts.join(" · ");
}

/// A sequence diagram (an <svg>) of `exchanges`, each
///
///     { request: Uint8Array,         the request frame
///       response: Uint8Array | null, its response (null: none, or not yet)
///       api: "JoinGroup", version: 5, correlationId: 7,
///       requestSize?, responseSize?, the sizes shown (default: the bytes' lengths)
///       latencyMs?,                  shown on the response arrow
///       requestAt?, responseAt?,     ms; order the arrows and the time column
///       error? }                     the response's error, by name
///
/// Without times, each request is followed by its response. `opts`:
/// `client` and `broker` (the lane heads), and `onSelect(exchange, side)`,
/// called when an arrow is clicked (or Enter/Space on a focused one).
export function renderSequence(exchanges, opts = {}) {
  const events = [];
  exchanges.forEach((x, i) => {
    const timed = x.requestAt !== undefined;
    events.push({ x, side: "request", at: timed ? x.requestAt : 2 * i, seq: 2 * i });
    if (x.response) events.push({ x, side: "response", at: timed ? (x.responseAt ?? x.requestAt) : 2 * i + 1, seq: 2 * i + 1 });
  });
  events.sort((a, b) => a.at - b.at || a.seq - b.seq);
  const timed = exchanges.length > 0 && exchanges[0].requestAt !== undefined;
  const t0 = events.length ? events[0].at : 0;
  const client = TIME_W + 20, broker = client + LANE_W;
  const width = broker + 90;
  const height = HEAD + events.length * ROW + 16;
  const root = svg("svg", {
    class: "sequence",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "group",
    "aria-label": `Sequence diagram: ${exchanges.length} request${exchanges.length === 1 ? "" : "s"} between ${opts.client || "client"} and ${opts.broker || "broker"}`,
  });
  // Marker ids are unique per diagram: a marker in a hidden diagram does not draw in a shown one.
  const uid = `seq${++diagrams}`;
  const defs = svg("defs");
  for (const [kind, d] of [["request", "M0,0 L10,5 L0,10 z"], ["response", "M0,0 L10,5 L0,10"], ["failed", "M0,0 L10,5 L0,10"]]) {
    const m = svg("marker", { id: `${uid}-${kind}`, viewBox: "-1 -1 12 12", refX: 10, refY: 5, markerWidth: 9, markerHeight: 9, orient: "auto-start-reverse" });
    m.append(svg("path", { d, class: `seq-head ${kind}` }));
    defs.append(m);
  }
  root.append(defs);
  for (const [x, name] of [[client, opts.client || "client"], [broker, opts.broker || "broker"]]) {
    root.append(svg("rect", { x: x - 75, y: 4, width: 150, height: 24, rx: 4, class: "seq-lane-head" }));
    root.append(svg("text", { x, y: 20, "text-anchor": "middle", class: "seq-lane-name" }, name));
    root.append(svg("line", { x1: x, y1: 28, x2: x, y2: height - 4, class: "seq-lifeline" }));
  }
  if (timed) root.append(svg("text", { x: TIME_W - 6, y: HEAD - 8, "text-anchor": "end", class: "seq-time" }, "time"));
  events.forEach((e, i) => {
    const y = HEAD + i * ROW + 12;
    const req = e.side === "request";
    const [x1, x2] = req ? [client, broker] : [broker, client];
    const label = arrowLabel(e.x, e.side);
    const g = svg("g", {
      class: `seq-arrow ${e.side}${!req && e.x.error ? " failed" : ""}`,
      tabindex: 0,
      role: "button",
      "aria-label": `${req ? "request" : "response"} ${label}, correlation id ${e.x.correlationId}: explain it`,
    });
    g.dataset.side = e.side;
    g.dataset.index = exchanges.indexOf(e.x);
    const tip = [
      `${req ? "Request" : "Response"}: ${e.x.api} v${e.x.version}`,
      `correlation id ${e.x.correlationId}`,
      `${(req ? e.x.requestSize ?? e.x.request.length : e.x.responseSize ?? e.x.response.length)} bytes`,
    ];
    if (!req && e.x.latencyMs !== undefined && e.x.latencyMs !== null) tip.push(`answered ${msText(e.x.latencyMs)} after the request`);
    if (!req && e.x.error) tip.push(`error ${e.x.error}`);
    tip.push("click to explain this frame");
    g.append(svg("title", {}, tip.join("\n")));
    // A wide transparent stroke under the arrow, so it is easy to hit.
    g.append(svg("line", { x1, y1: y, x2, y2: y + SLANT, class: "seq-hit" }));
    g.append(svg("line", { x1, y1: y, x2, y2: y + SLANT, class: "seq-line", "marker-end": `url(#${uid}-${req ? "request" : e.x.error ? "failed" : "response"})` }));
    g.append(svg("text", { x: (client + broker) / 2, y: y - 3, "text-anchor": "middle", class: "seq-label" }, label));
    if (timed) {
      const dt = e.at - t0;
      g.append(svg("text", { x: TIME_W - 6, y: y + 6, "text-anchor": "end", class: "seq-time" }, dt < 1000 ? `+${dt} ms` : `+${(dt / 1000).toFixed(2)} s`));
    }
    const pick = () => opts.onSelect && opts.onSelect(e.x, e.side);
    g.addEventListener("click", pick);
    g.addEventListener("keydown", (k) => {
      if (k.key === "Enter" || k.key === " ") { k.preventDefault(); pick(); }
    });
    root.append(g);
  });
  return root;
}

const b64bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/// The exchanges of `spate serve --inspect`'s events, per connection, and
/// a connection picker with the chosen connection's diagram in `box`.
/// `hooks`: `apiName(key)`, `errorOf(responseBytes, apiKey, version)` (the
/// response's error by name, or null), and `onSelect(bytes, opts)` (explain
/// a frame: opts as for the explainer, {direction, apiKey, apiVersion}).
export class LiveSequence {
  constructor(box, hooks) {
    this.box = box;
    this.hooks = hooks;
    this.conns = new Map(); // conn -> {peer, closed, exchanges, pending: Map corr -> exchange}
    this.chosen = null; // the connection the reader picked; none: the busiest
    this.pendingDraw = 0;
    const label = document.createElement("label");
    label.textContent = "Connection ";
    this.picker = document.createElement("select");
    this.picker.id = "seq-conn";
    label.append(this.picker);
    this.summary = document.createElement("span");
    this.summary.className = "muted";
    const head = document.createElement("div");
    head.className = "options";
    head.append(label, this.summary);
    this.diagram = document.createElement("div");
    this.diagram.className = "sequence-box";
    this.diagram.id = "seq-diagram";
    box.append(head, this.diagram);
    box.hidden = true;
    this.picker.addEventListener("change", () => {
      this.chosen = +this.picker.value;
      this.diagram.scrollTop = 0; // another connection: from its start
      this.draw();
    });
  }

  conn(id) {
    let c = this.conns.get(id);
    if (!c) this.conns.set(id, (c = { peer: "", closed: false, exchanges: [], pending: new Map() }));
    return c;
  }

  /// One event of the feed (as `spate serve --inspect` sends it).
  add(ev) {
    if (ev.conn === undefined) return;
    const c = this.conn(ev.conn);
    if (ev.event === "open") c.peer = ev.peer;
    else if (ev.event === "close") c.closed = true;
    else if (ev.event === "request") {
      const bytes = b64bytes(ev.bytes);
      if (bytes.length < 12) return;
      const v = new DataView(bytes.buffer);
      const apiKey = v.getInt16(4), version = v.getInt16(6), correlationId = v.getInt32(8);
      const x = { request: bytes, response: null, apiKey, api: this.hooks.apiName(apiKey), version, correlationId, requestAt: ev.at, conn: ev.conn };
      c.exchanges.push(x);
      c.pending.set(correlationId, x);
      // A long session keeps its latest exchanges (a page has only so much memory).
      if (c.exchanges.length > KEEP) c.exchanges.splice(0, c.exchanges.length - KEEP);
    } else if (ev.event === "response") {
      const bytes = b64bytes(ev.bytes);
      if (bytes.length < 8) return;
      const corr = new DataView(bytes.buffer).getInt32(4);
      const x = c.pending.get(corr);
      if (!x) return;
      c.pending.delete(corr);
      x.response = bytes;
      x.responseAt = ev.at;
      x.latencyMs = ev.at - x.requestAt;
      x.error = this.hooks.errorOf(bytes, x.apiKey, x.version);
    } else return;
    // Draw at most five times a second however fast events come (400
    // exchanges take ~90 ms to draw in headless Chromium here).
    if (!this.pendingDraw) this.pendingDraw = setTimeout(() => { this.pendingDraw = 0; this.draw(); }, 200);
  }

  /// Every frame seen, newest last, as {label, bytes, opts} (for "Compare with…").
  frames() {
    const out = [];
    for (const [id, c] of this.conns) {
      for (const x of c.exchanges) {
        out.push({ at: x.requestAt, label: `conn ${id} → ${x.api} v${x.version} request (correlation id ${x.correlationId}), ${x.request.length} bytes`, bytes: x.request, opts: { direction: "request" } });
        if (x.response) {
          out.push({ at: x.responseAt, label: `conn ${id} ← ${x.api} v${x.version} response (correlation id ${x.correlationId}), ${x.response.length} bytes`, bytes: x.response, opts: { direction: "response", apiKey: x.apiKey, apiVersion: x.version } });
        }
      }
    }
    return out.sort((a, b) => a.at - b.at);
  }

  describe(id, c) {
    const apis = [];
    for (const x of c.exchanges) if (!apis.includes(x.api)) apis.push(x.api);
    const n = c.exchanges.length;
    return `conn ${id}${c.peer ? ` from ${c.peer}` : ""}${c.closed ? " (closed)" : ""}: ${n} request${n === 1 ? "" : "s"}, ${apis.join(", ")}`;
  }

  draw() {
    const ids = [...this.conns.keys()].filter((id) => this.conns.get(id).exchanges.length);
    this.box.hidden = !ids.length;
    if (!ids.length) return;
    let shown = this.chosen;
    if (shown === null || !ids.includes(shown)) {
      shown = ids.reduce((a, b) => (this.conns.get(b).exchanges.length > this.conns.get(a).exchanges.length ? b : a));
    }
    // Options are updated in place when the connections are the same, so
    // an open picker does not close under the reader at every frame.
    const os = this.picker.options;
    if (os.length !== ids.length || ids.some((id, i) => +os[i].value !== id)) {
      this.picker.replaceChildren(...ids.map((id) => {
        const o = document.createElement("option");
        o.value = id;
        return o;
      }));
    }
    ids.forEach((id, i) => {
      const text = this.describe(id, this.conns.get(id));
      if (os[i].textContent !== text) os[i].textContent = text;
    });
    this.picker.value = shown;
    const c = this.conns.get(shown);
    this.summary.textContent = "Click an arrow to explain its frame; hover it for its correlation id.";
    // Redraws come with every frame: keep the reader's place, or, at the
    // bottom, follow the newest arrows.
    const d = this.diagram;
    const atEnd = d.scrollTop + d.clientHeight >= d.scrollHeight - 4;
    const top = d.scrollTop;
    const xs = c.exchanges.slice(-DRAW);
    this.summary.textContent += xs.length < c.exchanges.length ? ` The last ${DRAW} of ${c.exchanges.length} are drawn.` : "";
    this.diagram.replaceChildren(renderSequence(xs, {
      client: `client (conn ${shown})`,
      broker: "broker",
      onSelect: (x, side) => this.hooks.onSelect(side === "request" ? x.request : x.response,
        side === "request" ? { direction: "request" } : { direction: "response", apiKey: x.apiKey, apiVersion: x.version }),
    }));
    d.scrollTop = atEnd ? d.scrollHeight : top;
  }
}
