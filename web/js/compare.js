// Two frames side by side with what differs marked: the same API from two
// clients, or two versions of it. Both annotation trees are walked by
// field path (`body.topics[0].name`); a field is changed (its value
// differs), re-encoded (same value, another wire type: a string that
// became a compact string), or only in one frame (added in B, or removed).
// Its bytes are marked in that frame's hex, and each marked tree row says
// what the other frame has.

import { FrameView, fmtValue } from "./frameview.js";

export const SAME = 0, CHANGED = 1, RECODED = 2, ONLY = 3, INNER = 4;
const WORD = ["same", "changed", "re-encoded", "only in one", "differs inside"];

function bytesOf(t, frame, i) {
  const b = t.buf[i];
  return (b ? t.bufferBytes(b) : frame).subarray(t.start[i], t.end[i]);
}

function equalBytes(x, y) {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/// Children of `i` keyed by name and occurrence (`name#0`), in order.
function keyed(t, i) {
  const seen = new Map();
  return t.kids(i).map((id) => {
    const n = t.span(id).name;
    const c = seen.get(n) || 0;
    seen.set(n, c + 1);
    return [`${n}#${c}`, id, n];
  });
}

const join = (path, name) => (/^\[\d+\]$/.test(name) ? `${path}${name}` : path ? `${path}.${name}` : name);

/// Walks trees `a` and `b` (Trees of frames `fa` and `fb`) by field path.
/// Returns per node a status (SAME, CHANGED, RECODED, ONLY, INNER: a parent
/// with a difference below), the matching node of the other tree (-1:
/// none), and the differences in A's order as {path, status, a, b} (a
/// subtree only in one frame is one difference).
export function compareTrees(a, fa, b, fb) {
  const sa = new Uint8Array(a.count), sb = new Uint8Array(b.count);
  const toB = new Int32Array(a.count).fill(-1), toA = new Int32Array(b.count).fill(-1);
  const diffs = [];
  const val = (t, i) => { const v = t.span(i).value; return v === undefined ? undefined : fmtValue(v); };
  const only = (t, st, i) => { st[i] = ONLY; for (const k of t.kids(i)) only(t, st, k); };
  const walk = (i, j, path) => {
    toB[i] = j;
    toA[j] = i;
    const va = val(a, i), vb = val(b, j);
    const kindDiffers = a.span(i).kind !== b.span(j).kind;
    let st;
    if (!a.hasKids(i) && !b.hasKids(j)) {
      st = va !== vb || !equalBytes(bytesOf(a, fa, i), bytesOf(b, fb, j)) ? CHANGED : kindDiffers ? RECODED : SAME;
      if (st === RECODED && va === undefined) st = CHANGED;
    } else {
      const kb = new Map(keyed(b, j).map(([k, id]) => [k, id]));
      const inner = [];
      let differs = false;
      for (const [k, id, name] of keyed(a, i)) {
        const m = kb.get(k);
        if (m === undefined) {
          only(a, sa, id);
          inner.push({ path: join(path, name), status: ONLY, a: id, b: -1 });
          differs = true;
          continue;
        }
        kb.delete(k);
        const sub = diffs.length;
        if (walk(id, m, join(path, name))) differs = true;
        inner.push(...diffs.splice(sub));
      }
      for (const [k, id] of kb) {
        only(b, sb, id);
        inner.push({ path: join(path, k.replace(/#\d+$/, "")), status: ONLY, a: -1, b: id });
        differs = true;
      }
      st = va !== vb ? CHANGED : differs ? (kindDiffers && va !== undefined ? RECODED : INNER) : SAME;
      sa[i] = sb[j] = st;
      // A value that changed is one difference, however many of its parts did.
      if (st === CHANGED || st === RECODED) diffs.push({ path, status: st, a: i, b: j });
      else diffs.push(...inner);
      return st !== SAME;
    }
    sa[i] = sb[j] = st;
    if (st !== SAME) diffs.push({ path, status: st, a: i, b: j });
    return st !== SAME;
  };
  walk(0, 0, "");
  return { a: sa, b: sb, toB, toA, diffs };
}

/// Per buffer of tree `t`, which bytes a difference covers (its status).
function byteMarks(t, frame, status) {
  const out = [new Uint8Array(frame.length)];
  for (let k = 1; k <= t.bufferCount; k++) out.push(new Uint8Array(t.bufferBytes(k).length));
  for (let i = 0; i < t.count; i++) {
    const s = status[i];
    if (t.isLeaf[i] && (s === CHANGED || s === RECODED || s === ONLY)) out[t.buf[i]].fill(s, t.start[i], t.end[i]);
  }
  return out;
}

const short = (v) => (v === undefined ? "" : v.length > 24 ? `${v.slice(0, 24)}…` : v);

/// FrameView marks for one side of a comparison (`side` "A" or "B").
function marks(mine, other, status, pair, bytes, side) {
  const otherSide = side === "A" ? "B" : "A";
  const cls = [null, "diff-changed", "diff-recoded", side === "A" ? "diff-removed" : "diff-added", "diff-inner"];
  return {
    byteClass: (buf, o) => {
      const m = bytes[buf];
      return m && m[o] ? cls[m[o]] : null;
    },
    node: (id) => {
      const s = status[id];
      if (!s) return null;
      const j = pair[id];
      let badge = "";
      if (s === CHANGED) {
        const v = j >= 0 ? other.span(j).value : undefined;
        badge = v === undefined ? `changed in ${otherSide}` : `${otherSide}: ${short(fmtValue(v))}`;
      } else if (s === RECODED) badge = `${otherSide} as ${other.span(j).kind}`;
      else if (s === ONLY && (pair[mine.parent[id]] ?? -1) >= 0) badge = `only in ${side}`;
      return { cls: cls[s], badge };
    },
  };
}

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  if (text !== undefined) e.textContent = text;
  return e;
}

function frameBox(id, heading) {
  const s = el("section", { class: "frame", id, "aria-label": heading });
  s.append(el("h3", {}, heading), el("p", { class: "frame-title" }));
  const panes = el("div", { class: "panes" });
  const hexes = el("div", { class: "hexes" });
  hexes.append(el("div", { class: "hex frame-hex", tabindex: 0, "aria-label": `${heading}: hex view` }));
  const inner = el("div", { class: "inner-hex" });
  inner.hidden = true;
  inner.append(el("p", { class: "inner-caption" }), el("div", { class: "hex decoded-hex", tabindex: 0, "aria-label": `${heading}: decoded bytes` }));
  hexes.append(inner);
  panes.append(hexes, el("div", { class: "tree", role: "tree", "aria-label": `${heading}: field tree` }));
  s.append(panes, el("div", { class: "details", "aria-live": "polite" }));
  return s;
}

/// The "Compare two frames" section: A is the frame explained above when
/// "Compare with…" was pressed; B is pasted, or picked from Live traffic.
/// `deps`: {wasm, Tree, apis, describeField, liveFrames()}.
export class CompareView {
  constructor(section, deps) {
    this.section = section;
    this.deps = deps;
    this.a = null;
    section.append(
      el("h2", { id: "compare-h" }, "Compare two frames"),
      el("p", { class: "muted" }, "Frame A is the one explained above when you pressed Compare with…; paste frame B (any text shape the input takes) or pick one from Live traffic. Fields are matched by their path: a changed value, the same value encoded as another wire type (re-encoded), and fields only one frame has are marked in both trees and both hex views."),
    );
    const aLine = el("span", { id: "cmp-a-desc" }, "Frame A: none yet. Explain a frame above, then press Compare with… (or Take A from the frame above).");
    const useCurrent = el("button", { type: "button", id: "cmp-use-current" }, "Take A from the frame above");
    const bLabel = el("label", { for: "cmp-b-input", class: "block" }, "Frame B: hex or base64");
    const bInput = el("textarea", { id: "cmp-b-input", rows: 4, spellcheck: "false", autocomplete: "off" });
    const opts = el("div", { class: "options" });
    const dir = el("select", { id: "cmp-b-direction" });
    dir.append(el("option", { value: "request" }, "request"), el("option", { value: "response" }, "response"));
    const api = el("select", { id: "cmp-b-api" });
    for (const x of deps.apis) api.append(el("option", { value: x.key }, `${x.name} (${x.key})`));
    const ver = el("input", { id: "cmp-b-version", type: "number", min: 0, value: 0, size: 3 });
    const respOpts = el("span");
    respOpts.hidden = true;
    const l1 = el("label", {}, "API "), l2 = el("label", {}, " version ");
    l1.append(api);
    l2.append(ver);
    respOpts.append(l1, l2);
    const lDir = el("label", {}, "Frame B is a ");
    lDir.append(dir);
    const live = el("select", { id: "cmp-live" });
    const lLive = el("label", {}, "or from Live traffic ");
    lLive.append(live);
    const go = el("button", { type: "button", id: "cmp-go" }, "Compare");
    opts.append(lDir, respOpts, lLive, go);
    const err = el("div", { class: "error", role: "alert", id: "cmp-error" });
    err.hidden = true;
    const summary = el("p", { id: "cmp-summary", "aria-live": "polite" });
    const list = el("ol", { id: "cmp-diffs", class: "cmp-diffs" });
    const frames = el("div", { class: "cmp-frames" });
    const boxA = frameBox("compare-a", "A"), boxB = frameBox("compare-b", "B");
    frames.append(boxA, boxB);
    const aRow = el("div", { class: "options" });
    aRow.append(aLine, useCurrent);
    section.append(aRow, bLabel, bInput, opts, err, summary, list, frames);
    Object.assign(this, { aLine, bInput, dir, api, ver, respOpts, live, err, summary, list, frames, boxA, boxB });
    this.viewA = new FrameView(boxA, deps.describeField, null);
    this.viewB = new FrameView(boxB, deps.describeField, null);
    frames.hidden = true;
    dir.addEventListener("change", () => { respOpts.hidden = dir.value !== "response"; });
    live.addEventListener("focus", () => this.fillLive());
    live.addEventListener("change", () => this.pickLive());
    go.addEventListener("click", () => this.compare());
    useCurrent.addEventListener("click", () => deps.takeCurrent && this.setA(deps.takeCurrent()));
    // Selecting a field in one frame selects the same field in the other.
    for (const ev of ["click", "keydown"]) {
      boxA.querySelector(".tree").addEventListener(ev, () => this.follow(this.viewA, this.viewB, "toB"));
      boxB.querySelector(".tree").addEventListener(ev, () => this.follow(this.viewB, this.viewA, "toA"));
    }
  }

  /// Frame A: {bytes, opts} as the explainer annotated it.
  setA(a) {
    this.a = a;
    const t = new this.deps.Tree(this.deps.wasm.annotate(a.bytes, a.opts));
    this.aLine.textContent = `Frame A: ${t.title}, ${a.bytes.length} bytes.`;
    // B's API and version default to A's, for a response pasted as B.
    const root = a.opts.direction === "request" && t.child(0, "header");
    const hv = (n) => { const f = root >= 0 ? t.child(root, n) : -1; return f >= 0 ? Number(t.span(f).value) : undefined; };
    const key = a.opts.direction === "request" ? hv("request_api_key") : a.opts.apiKey;
    const version = a.opts.direction === "request" ? hv("request_api_version") : a.opts.apiVersion;
    if (key !== undefined) this.api.value = key;
    if (version !== undefined) this.ver.value = version;
    t.free();
    this.section.hidden = false;
    this.fillLive();
    if (this.bInput.value.trim()) this.compare();
  }

  fillLive() {
    const frames = this.deps.liveFrames();
    this.liveFrames = frames;
    const opts = [el("option", { value: "" }, frames.length ? `${frames.length} frames…` : "none yet (spate serve --inspect)")];
    frames.forEach((f, i) => opts.push(el("option", { value: i }, f.label)));
    const keep = this.live.value;
    this.live.replaceChildren(...opts);
    this.live.value = keep;
  }

  pickLive() {
    const f = this.liveFrames && this.liveFrames[+this.live.value];
    if (!f || this.live.value === "") return;
    this.bInput.value = Array.from(f.bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
    this.dir.value = f.opts.direction;
    this.respOpts.hidden = f.opts.direction !== "response";
    if (f.opts.direction === "response") {
      this.api.value = f.opts.apiKey;
      this.ver.value = f.opts.apiVersion;
    }
    this.compare();
  }

  fail(msg) {
    this.err.hidden = !msg;
    this.err.textContent = msg || "";
  }

  compare() {
    const { wasm, Tree } = this.deps;
    if (!this.a) return this.fail("No frame A: explain a frame above, then press Compare with….");
    let parsed;
    try {
      parsed = wasm.parseInput(this.bInput.value, false);
    } catch (e) {
      return this.fail(`Frame B is not readable as bytes: ${e.message}`);
    }
    if (!parsed.bytes.length) return this.fail("Frame B is empty: paste its bytes, or pick a Live traffic frame.");
    this.fail("");
    const optsB = { direction: this.dir.value, sizePrefix: "auto" };
    if (optsB.direction === "response") {
      optsB.apiKey = +this.api.value;
      optsB.apiVersion = +this.ver.value;
    }
    const a = this.a, b = { bytes: parsed.bytes, opts: optsB };
    const ta = new Tree(wasm.annotate(a.bytes, a.opts)), tb = new Tree(wasm.annotate(b.bytes, b.opts));
    const r = compareTrees(ta, a.bytes, tb, b.bytes);
    this.result = r;
    this.frames.hidden = false;
    for (const [box, t, bytes] of [[this.boxA, ta, a.bytes], [this.boxB, tb, b.bytes]]) {
      box.querySelector(".frame-title").textContent = `${t.title}, ${bytes.length} bytes${t.error ? ` — decoding stopped: ${t.error.message}` : ""}`;
    }
    this.viewA.show(a.bytes, ta);
    this.viewB.show(b.bytes, tb);
    this.viewA.setMarks(marks(ta, tb, r.a, r.toB, byteMarks(ta, a.bytes, r.a), "A"));
    this.viewB.setMarks(marks(tb, ta, r.b, r.toA, byteMarks(tb, b.bytes, r.b), "B"));
    const count = (s, side) => r.diffs.filter((d) => d.status === s && (side === undefined || (side === "a" ? d.a >= 0 : d.b >= 0))).length;
    const parts = [];
    if (count(CHANGED)) parts.push(`${count(CHANGED)} changed`);
    if (count(RECODED)) parts.push(`${count(RECODED)} re-encoded`);
    if (count(ONLY, "a")) parts.push(`${count(ONLY, "a")} only in A (removed)`);
    if (count(ONLY, "b")) parts.push(`${count(ONLY, "b")} only in B (added)`);
    this.summary.textContent = parts.length ? `A ${ta.title} vs B ${tb.title}: ${parts.join(", ")}.` : `A ${ta.title} and B ${tb.title} are the same, field by field.`;
    // One line per kind of difference: the same field differing in every
    // element of an array is one line, with how many elements.
    const groups = new Map();
    for (const d of r.diffs) {
      const what = d.status === ONLY ? (d.a >= 0 ? "only in A" : "only in B") : WORD[d.status];
      const key = `${d.path.replace(/\[\d+\]/g, "[*]")} ${what}`;
      if (groups.has(key)) groups.get(key).items.push(d);
      else groups.set(key, { key, what, items: [d] });
    }
    const v = (t, i) => { const x = i >= 0 ? t.span(i).value : undefined; return x === undefined ? "" : short(fmtValue(x)); };
    const lines = [...groups.values()];
    this.list.replaceChildren(...lines.slice(0, 300).map(({ key, what, items }) => {
      const d = items[0];
      const li = el("li");
      const btn = el("button", { type: "button", class: `cmp-diff diff-${d.status === ONLY ? (d.a >= 0 ? "removed" : "added") : WORD[d.status].replace("re-encoded", "recoded")}` });
      let text;
      if (items.length > 1) text = `${key}, in ${items.length} elements`;
      else {
        const detail = d.status === CHANGED && v(ta, d.a) + v(tb, d.b) ? `: ${v(ta, d.a) || "—"} → ${v(tb, d.b) || "—"}` : d.status === RECODED ? `: ${ta.span(d.a).kind} → ${tb.span(d.b).kind}` : "";
        text = `${d.path || "(frame)"} ${what}${detail}`;
      }
      btn.textContent = text;
      btn.addEventListener("click", () => {
        if (d.a >= 0) this.viewA.select(d.a);
        if (d.b >= 0) this.viewB.select(d.b);
      });
      li.append(btn);
      return li;
    }));
    if (lines.length > 300) this.list.append(el("li", { class: "muted" }, `and ${lines.length - 300} more`));
  }

  follow(from, to, dir) {
    if (!this.result || from.selected === undefined) return;
    const j = this.result[dir][from.selected];
    if (j >= 0 && to.selected !== j) to.select(j);
  }
}
