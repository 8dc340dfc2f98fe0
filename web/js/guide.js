// The first screen and the guided conversations. On load the page shows
// kcat's real ApiVersions request explained beside the in-page broker's
// answer; the guide bar above the frames offers the walkthroughs
// (walkthroughs.js), runs their steps against the in-page broker, lets a
// step's request be edited as JSON and re-sent, and checks a response the
// learner writes against the broker's, field by field.
//
// Every exchange of the conversation (the first screen's included) is
// kept in `window.spate.exchanges` as {walkthrough, step, title, api,
// apiKey, version, respVersion, request, response, closed, errors, ok,
// latencyMs, at}, and announced with a `spate-exchange` event on
// `document` (detail: the exchange), for views drawn from it.

import { renderSequence } from "./sequence.js";
import { WALKTHROUGHS, runStep, KCAT_API_VERSIONS, hexToBytes, describeExpect, meets, errorNames } from "./walkthroughs.js";

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function button(text, onClick, attrs = {}) {
  const b = el("button", attrs.cls || "", text);
  b.type = "button";
  for (const [k, v] of Object.entries(attrs)) if (k !== "cls") b.setAttribute(k, v);
  b.addEventListener("click", onClick);
  return b;
}

export function startGuide(s) {
  const { wasm } = s;
  const exchanges = [];
  s.exchanges = exchanges;
  const send = (bytes) => s.pg.handle(bytes, undefined, "present");
  const bar = $("guide");
  // The walkthrough being followed: {wt, ctx, at (step shown), byStep (last exchange of each step)}.
  let run = null;
  let firstShown = false; // the first screen's request, explained before the broker is up

  function record(ex) {
    exchanges.push(ex);
    document.dispatchEvent(new CustomEvent("spate-exchange", { detail: ex }));
    renderLog();
  }

  /// The request in the explain view, the answer beside it.
  function show(ex, focus) {
    $("prefix").value = "auto";
    s.loadBytes(ex.request, { direction: "request" });
    showAnswer(ex);
    s.reqView.tree.scrollTop = s.respView.tree.scrollTop = 0;
    // What the step is about, selected: its field in the request, the error in the answer.
    if (focus) pick(s.reqView, (sp) => sp.name === focus);
    if (ex.errors.length) pick(s.respView, (sp) => /error_code$/.test(sp.name) && Number(sp.value) !== 0);
  }

  /// Selects the first span of `view` that `want` takes, scrolling only its tree pane.
  function pick(view, want) {
    const t = view.t;
    if (!t) return;
    for (let i = 0; i < t.count; i++) {
      if (!want(t.span(i))) continue;
      view.select(i, false);
      const row = view.tree.querySelector(`.node[data-id="${i}"]`);
      if (row) view.tree.scrollTop += row.getBoundingClientRect().top - view.tree.getBoundingClientRect().top - 60;
      view.tree.scrollLeft = 0;
      view.main.scrollToByte(t.start[i]);
      return;
    }
  }

  function showAnswer(ex) {
    const frame = $("response-frame");
    frame.hidden = false;
    document.querySelector(".frames").classList.add("two");
    const title = $("resp-title");
    if (!ex.response) {
      s.respView.clear();
      title.textContent = ex.closed ? `The broker closed the connection: ${ex.closed}` : "No response.";
      return;
    }
    const ann = new s.Tree(wasm.annotate(ex.response, { direction: "response", apiKey: ex.apiKey, apiVersion: ex.respVersion, sizePrefix: "present" }));
    const errs = ex.errors.length ? ` — ${ex.errors.join(", ")}` : " — no error";
    title.textContent = `${ann.title}, ${ex.response.length} bytes in ${ex.latencyMs} ms${ann.error ? ` — error: ${ann.error.message}` : errs}`;
    s.respView.show(ex.response, ann);
  }

  // ---------------------------------------------------------------- the bar

  function picker() {
    const p = el("p", "guide-picks");
    p.append(el("span", "", "Guided conversations: "));
    for (const wt of WALKTHROUGHS) {
      p.append(button(wt.title, () => begin(wt), { cls: "walkthrough", "data-walkthrough": wt.id }));
    }
    return p;
  }

  /// The bar with no walkthrough followed; `kcat` when the first screen's exchange is shown.
  function renderIntro(kcat = false) {
    const intro = el("p", "guide-lead");
    intro.innerHTML = kcat
      ? "<strong>The first thing kcat says to a broker</strong> (ApiVersions, its real bytes) and the answer of the broker running in this page. "
        + "<strong>Click any byte or field</strong> to see what it is. Then hold a conversation with that broker, step by step, or paste the bytes your own client sent."
      : "<strong>Click any byte or field</strong> to see what it is. Hold a conversation with the broker running in this page, step by step, or paste the bytes your own client sent.";
    bar.replaceChildren(intro, picker());
  }

  function renderStep() {
    const { wt, at } = run;
    const step = wt.steps[at];
    const ex = run.byStep[at];
    const head = el("div", "guide-head");
    const h = el("h2", "", `${wt.title} · step ${at + 1} of ${wt.steps.length}: ${step.title}`);
    h.id = "guide-step-title";
    head.append(h);
    const nav = el("span", "guide-nav");
    const back = button("◀ Back", () => { run.at--; showStep(); }, { id: "guide-back" });
    back.disabled = at === 0;
    const next = button(at + 1 < wt.steps.length ? "Send the next step ▶" : "Done", () => advance(), { id: "guide-next" });
    next.disabled = at + 1 >= wt.steps.length;
    nav.append(back, next,
      button("Run the rest", () => runRest(), { id: "guide-rest" }),
      button("Edit & re-send", () => togglePanel("edit"), { id: "guide-edit" }),
      button("Write the response yourself", () => togglePanel("yours"), { id: "guide-yours" }),
      button("Close", () => { run = null; renderIntro(); }, { id: "guide-close" }));
    // While the step's answer is awaited (a long poll, a join), nothing else is sent.
    if (!ex) for (const b of nav.querySelectorAll("button:not(#guide-close)")) b.disabled = true;
    head.append(nav);
    const say = el("p", "guide-say", step.say);
    say.id = "guide-say";
    const outcome = el("p", "guide-outcome");
    outcome.id = "guide-outcome";
    if (ex) {
      const said = ex.closed ? `closed: ${ex.closed}` : ex.errors.length ? ex.errors.join(", ") : "no error";
      const sent = `→ ${ex.api} v${ex.version}, ${ex.request.length} bytes · ← ${ex.response ? `${ex.response.length} bytes` : "no answer"} in ${ex.latencyMs} ms · ${said}`;
      if (ex.edited) {
        // An edit asks its own question: what the step as written expects is only a reference.
        outcome.textContent = `${sent} (your edit; as written, this step expects ${describeExpect(step.expect)})`;
      } else {
        outcome.textContent = `${sent} ${ex.ok ? "✓" : "✗"} (this step expects ${describeExpect(step.expect)})`;
        outcome.classList.add(ex.ok ? "ok" : "bad");
      }
    } else {
      outcome.textContent = "Sending…";
    }
    bar.replaceChildren(head, say, outcome, editPanel(), yoursPanel(), picker());
  }

  function showStep() {
    renderStep();
    const ex = run.byStep[run.at];
    if (ex) show(ex, run.wt.steps[run.at].focus);
  }

  /// Sends step `i` of the walkthrough being followed; shows it unless
  /// another walkthrough was begun meanwhile.
  async function sendStep(i, edited) {
    const mine = run;
    const ex = await runStep({ wasm, send }, mine.wt, i, mine.ctx, edited);
    ex.edited = edited !== undefined;
    mine.byStep[i] = ex;
    record(ex);
    if (run === mine) showStep();
    s.renderState?.();
    return ex;
  }

  async function begin(wt) {
    run = { wt, ctx: { correlation: 0 }, at: 0, byStep: [] };
    renderStep();
    await sendStep(0);
  }

  async function advance() {
    if (!run || run.at + 1 >= run.wt.steps.length) return;
    run.at++;
    renderStep();
    await sendStep(run.at);
  }

  async function runRest() {
    const mine = run;
    while (run === mine && run.at + 1 < run.wt.steps.length) await advance();
  }

  // ---------------------------------------------------------------- edit & re-send

  let panel = null; // "edit" | "yours" | null

  function togglePanel(which) {
    panel = panel === which ? null : which;
    renderStep();
  }

  function editPanel() {
    const box = el("div", "guide-panel");
    box.id = "guide-edit-panel";
    box.hidden = panel !== "edit";
    if (box.hidden) return box;
    const ex = run.byStep[run.at];
    let text = "";
    if (ex) {
      try { text = wasm.toJson(ex.request, { direction: "request", sizePrefix: "present" }); } catch { text = hex(ex.request); }
    }
    const ta = el("textarea");
    ta.id = "guide-edit-json";
    ta.rows = 10;
    ta.spellcheck = false;
    ta.value = text;
    ta.setAttribute("aria-label", "This step's request as JSON (or hex, when the codec cannot write its version): edit, then re-send");
    const err = el("p", "error");
    err.hidden = true;
    const go = button("Re-send edited", async () => {
      let edited;
      try {
        edited = ta.value.trim().startsWith("{") ? wasm.fromJson(ta.value) : wasm.parseInput(ta.value, false).bytes;
      } catch (e) { err.hidden = false; err.textContent = `Not sent: ${e.message}`; return; }
      await sendStep(run.at, Uint8Array.from(edited));
    }, { id: "guide-resend" });
    box.append(el("label", "block", "The request as JSON: change any field (lengths, counts and CRCs are recomputed), then re-send it in this conversation."), ta, go, err);
    return box;
  }

  // ---------------------------------------------------------------- your own response

  function yoursPanel() {
    const box = el("div", "guide-panel");
    box.id = "guide-yours-panel";
    box.hidden = panel !== "yours";
    if (box.hidden) return box;
    const ex = run.byStep[run.at];
    const ta = el("textarea");
    ta.id = "guide-yours-input";
    ta.rows = 6;
    ta.spellcheck = false;
    ta.placeholder = "Your answer to this request, as hex (size prefix included) or as JSON ({\"header\": {...}, \"body\": {...}})";
    ta.setAttribute("aria-label", "Your response to this step's request, hex or JSON");
    const out = el("div", "guide-check");
    out.id = "guide-check";
    out.setAttribute("aria-live", "polite");
    const check = button("Check against the broker", () => {
      const r = compareResponse(wasm, ex, ta.value);
      out.replaceChildren();
      out.className = `guide-check ${r.match ? "ok" : "bad"}`;
      out.append(el("p", "", r.summary));
      if (r.fields.length) {
        const ul = el("ul");
        for (const f of r.fields) ul.append(el("li", "", f));
        out.append(ul);
      }
    }, { id: "guide-check-button" });
    const start = button("Start from the broker's answer (JSON)", () => {
      try { ta.value = wasm.toJson(ex.response, { direction: "response", apiKey: ex.apiKey, apiVersion: ex.respVersion, sizePrefix: "present" }); } catch (e) { ta.value = hex(ex.response); }
    });
    start.disabled = !ex || !ex.response;
    box.append(el("label", "block", "Write the broker's answer yourself, as a server you are building would (the way CodeCrafters' stages test one): the page says which bytes and fields differ from what this broker answered."), ta, check, start, out);
    return box;
  }

  // ---------------------------------------------------------------- the log

  function renderLog() {
    const ol = $("guide-log");
    if (!ol) return;
    ol.replaceChildren();
    exchanges.forEach((ex) => {
      const li = el("li");
      const b = button(`${ex.walkthrough ? `${titleOf(ex.walkthrough)} ${ex.step + 1}` : "first screen"}: → ${ex.api} v${ex.version} (${ex.request.length} B) ← ${ex.response ? `${ex.response.length} B` : "none"}, ${ex.latencyMs} ms, ${ex.closed ? "closed" : ex.errors.join(", ") || "no error"}${ex.edited ? " (edited)" : ""}`,
        () => { show(ex); $("explain-section").scrollIntoView(); }, { cls: "traffic" });
      li.append(b);
      ol.append(li);
    });
    // The same exchanges as a sequence diagram; an arrow explains its exchange.
    const box = $("guide-sequence");
    if (box) {
      const arrows = exchanges.map((ex) => ({
        request: ex.request,
        response: ex.response,
        api: ex.api,
        version: ex.version,
        correlationId: ex.request.length >= 12 ? new DataView(ex.request.buffer, ex.request.byteOffset).getInt32(8) : undefined,
        latencyMs: ex.latencyMs,
        error: ex.closed ? "connection closed" : ex.errors[0] || null,
        ex,
      }));
      box.replaceChildren(renderSequence(arrows, {
        client: "this page", broker: "in-page broker",
        onSelect: (x) => { show(x.ex); $("explain-section").scrollIntoView(); },
      }));
    }
    $("conversation-section").hidden = exchanges.length === 0;
  }

  // ---------------------------------------------------------------- first screen

  /// kcat's ApiVersions request explained, the in-page broker's answer beside it.
  function showFirstRequest() {
    renderIntro(true);
    $("prefix").value = "auto";
    s.loadBytes(hexToBytes(KCAT_API_VERSIONS), { direction: "request" });
    // Select the api key, so the details pane says something from the start.
    pick(s.reqView, (sp) => sp.name === "request_api_key");
    firstShown = true;
    // kcat's frame is explained and clickable; the broker's answer follows once IndexedDB is open.
    performance.mark("first-frame");
  }

  async function firstScreen() {
    renderIntro(true);
    if (!firstShown) showFirstRequest();
    const bytes = hexToBytes(KCAT_API_VERSIONS);
    const ex = { walkthrough: null, step: 0, title: "kcat's ApiVersions", api: "ApiVersions", apiKey: 18, version: 3, respVersion: 3, request: bytes, response: null, closed: null, errors: [], ok: false, latencyMs: 0, at: Date.now() };
    const t0 = performance.now();
    try { ex.response = await send(bytes); } catch (e) { ex.closed = e.message; }
    ex.latencyMs = Math.round((performance.now() - t0) * 10) / 10;
    if (ex.response) {
      const ann = wasm.annotate(ex.response, { direction: "response", apiKey: 18, apiVersion: 3, sizePrefix: "present" });
      ex.errors = errorNames(ann);
      ann.free();
      ex.ok = meets(null, ex.errors);
    }
    record(ex);
    showAnswer(ex);
    pick(s.respView, (sp) => sp.name === "api_keys");
    $("send").disabled = false;
    // The address stays the page's own: a reload shows this screen again, not the request alone.
    history.replaceState(null, "", location.pathname + location.search);
  }

  s.guide = { firstScreen, showFirstRequest, begin: (id) => begin(WALKTHROUGHS.find((w) => w.id === id)), advance, runRest, walkthroughs: WALKTHROUGHS, compareResponse: (ex, text) => compareResponse(wasm, ex, text) };
  renderIntro();
  return s.guide;
}

const titleOf = (id) => (WALKTHROUGHS.find((w) => w.id === id) || { title: id }).title;
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

/// The learner's response (`text`: hex in any shape the page reads, or
/// the codec's JSON, whose api, version and side may be left out) against
/// the broker's answer in exchange `ex`: {match, summary, fields} with one
/// line per field that differs, named by its path.
export function compareResponse(wasm, ex, text) {
  if (!ex || !ex.response) return { match: false, summary: "This step has no answer from the broker to compare with.", fields: [] };
  let mine;
  try {
    if (text.trim().startsWith("{")) {
      const j = JSON.parse(text);
      j.api ??= ex.api;
      j.version ??= ex.respVersion;
      j.side ??= "response";
      mine = wasm.fromJson(JSON.stringify(j));
    } else {
      mine = wasm.parseInput(text, false).bytes;
    }
  } catch (e) {
    return { match: false, summary: `Not readable: ${e.message}`, fields: [] };
  }
  const theirs = ex.response;
  const opts = { direction: "response", apiKey: ex.apiKey, apiVersion: ex.respVersion };
  if (mine.length === theirs.length - 4 && mine.every((b, i) => b === theirs[i + 4])) {
    return { match: false, summary: "Your bytes are the broker's answer without its 4-byte size prefix: a response starts with its size, like a request.", fields: ["size: missing"] };
  }
  let diffBytes = 0, first = -1;
  const ranges = []; // [from, to] of the bytes that differ, in order
  for (let i = 0; i < Math.max(mine.length, theirs.length); i++) {
    if (mine[i] === theirs[i]) continue;
    diffBytes++;
    if (first < 0) first = i;
    const last = ranges[ranges.length - 1];
    if (last && last[1] === i - 1) last[1] = i;
    else ranges.push([i, i]);
  }
  if (!diffBytes) return { match: true, summary: `Matches the broker's answer byte for byte (${theirs.length} bytes).`, fields: [] };
  const a = leaves(wasm.annotate(theirs, { ...opts, sizePrefix: "present" }), theirs);
  const bAnn = wasm.annotate(mine, { ...opts, sizePrefix: "auto" });
  const decodeErr = bAnn.error ? bAnn.error.message : null;
  const b = leaves(bAnn, mine);
  const fields = [];
  for (const [path, v] of a.map) {
    const w = b.map.get(path);
    if (w === undefined) fields.push(`${path}: missing from yours (the broker's: ${v})`);
    else if (w !== v) fields.push(`${path}: yours ${w}, the broker's ${v}`);
  }
  for (const [path, w] of b.map) if (!a.map.has(path)) fields.push(`${path}: only in yours (${w})`);
  const where = a.at(first);
  const lenNote = mine.length !== theirs.length ? ` Yours is ${mine.length} bytes, the broker's ${theirs.length}.` : "";
  const shownRanges = ranges.slice(0, 6).map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join(", ") + (ranges.length > 6 ? ", …" : "");
  const summary = `Differs from the broker's answer: ${diffBytes} byte${diffBytes === 1 ? " differs" : "s differ"}, the first at byte ${first}${where ? ` (in ${where})` : ""}; bytes ${shownRanges}.${lenNote}${decodeErr ? ` Yours does not decode: ${decodeErr}.` : ""}`;
  return { match: false, summary, fields: fields.slice(0, 12).concat(fields.length > 12 ? [`… and ${fields.length - 12} more`] : []) };
}

/// The leaves of an annotation by path ("header.correlation_id",
/// "body.api_keys.[3].max_version") with their values (or bytes, as hex),
/// and the path of the leaf holding a byte of the frame.
function leaves(ann, bytes) {
  const n = ann.count;
  const nodes = [];
  for (let i = 0; i < n; i++) nodes.push(ann.node(i));
  const parents = ann.parents();
  const buffers = ann.buffers();
  const hasKid = new Uint8Array(n);
  for (let i = 1; i < n; i++) hasKid[parents[i]] = 1;
  const path = (i) => {
    const parts = [];
    for (let k = i; k > 0; k = parents[k]) parts.unshift(nodes[k].name);
    return parts.join(".");
  };
  const map = new Map();
  const spans = [];
  for (let i = 1; i < n; i++) {
    if (hasKid[i]) continue;
    const s = nodes[i];
    const v = s.value !== undefined ? String(s.value) : buffers[i] === 0 ? hex(bytes.subarray(s.start, s.end)) : "";
    map.set(path(i), v);
    if (buffers[i] === 0) spans.push([s.start, s.end, path(i)]);
  }
  ann.free();
  return { map, at: (o) => (spans.find(([a, b]) => o >= a && o < b) || [])[2] };
}
