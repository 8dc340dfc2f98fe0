// A frame shown three ways, linked: a hex view (virtualised, so a 1 MB
// frame renders only the rows on screen), a field tree and a details pane.
// Hovering a byte highlights its field and every ancestor in the tree;
// hovering a tree node highlights its bytes. Clicking selects. By
// keyboard, the tree is a WAI-ARIA tree (arrows, Home/End, Enter opens and
// closes; the row moved to is selected) and the hex moves its cursor by
// arrows, Enter going to the field's row in the tree. Each byte is coloured
// by its field's kind (KINDS: length, int, varint, string, bytes, tagged,
// record; style.css gives each a colour and an underline or style), the
// tree's wire type carries the same colour and the details name the kind.
//
// The annotation stays in the WebAssembly (`Annotated`, flat, in
// preorder); `Tree` reads its offsets as typed arrays and asks for a
// node's name, kind and value only when a row or the details pane shows
// it. Bytes the frame holds in another form (a compressed batch's records)
// come decoded as extra buffers: their spans are children of the span
// they decode, and a second hex pane shows their bytes.

const ROW = 16;
const ROW_PX = 20;
// Trees up to this many spans are rendered fully expanded.
const EXPAND_ALL = 3000;

export function fmtValue(v) {
  if (v === undefined) return "";
  if (v === null) return "null";
  if (typeof v === "bigint" || typeof v === "number" || typeof v === "boolean") return String(v);
  return typeof v === "string" && !v.startsWith("0x") ? JSON.stringify(v) : String(v);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/// Field kinds, each with its colour (`--k-NAME` in style.css) and, in
/// the hex, its own underline or style, so that colour is not the only
/// sign; the details pane names them in words.
export const KINDS = ["length", "int", "varint", "string", "bytes", "tagged", "record"];
export const KIND_LABEL = {
  length: "length or count (of the string, bytes, array or record that follows)",
  int: "fixed-width number (int8 to int64, uint, float64, bool)",
  varint: "varint (zigzag or unsigned, 1 to 10 bytes)",
  string: "text (UTF-8)",
  bytes: "bytes or UUID",
  tagged: "tagged-field framing (count, tag, size)",
  record: "record batch or message header field",
};
const LENGTHS = new Set(["length", "count", "size", "batch_length", "records_count", "message_size", "key_length", "value_length", "headers_count"]);
const RECORD_PARTS = /^(RecordBatch|Record|Header|Message v\d+)$/;
const TEXT = new Set(["utf8", "string", "scram attribute", "attribute name", "comma", "gs2-cbind-flag"]);

/// The kind of a leaf span `s` under `parent` (null for the root).
function kindOf(s, parent) {
  const pk = parent ? parent.kind : "";
  if (/^tagged_fields?$/.test(pk) && ["count", "tag", "size"].includes(s.name)) return "tagged";
  // A length names what follows it: a string's, an array's, a record's or the frame's.
  if (LENGTHS.has(s.name) && (/string|bytes|records|\[\]|(Request|Response) v\d+$/.test(pk) || RECORD_PARTS.test(pk))) return "length";
  if (/varint|varlong/.test(s.kind)) return "varint";
  if (RECORD_PARTS.test(pk) && WIDTH[s.kind]) return "record";
  if (TEXT.has(s.kind)) return "string";
  if (WIDTH[s.kind]) return "int";
  return "bytes";
}

/// An annotation from the WebAssembly (`wasm.annotate(...)`), indexed.
/// Node ids are preorder positions; node 0 is the root.
export class Tree {
  constructor(handle) {
    this.h = handle;
    const n = (this.count = handle.count);
    this.title = handle.title;
    this.error = handle.error;
    this.start = handle.starts();
    this.end = handle.ends();
    this.parent = handle.parents();
    this.buf = handle.buffers();
    this.bufferCount = handle.bufferCount;
    // Children as linked lists, depth, and per buffer the leaves in byte order.
    this.first = new Int32Array(n).fill(-1);
    this.next = new Int32Array(n).fill(-1);
    this.depth = new Int32Array(n);
    const own = new Uint8Array(n); // has a child in its own buffer
    for (let i = n - 1; i > 0; i--) {
      const p = this.parent[i];
      this.next[i] = this.first[p];
      this.first[p] = i;
      if (this.buf[i] === this.buf[p]) own[p] = 1;
    }
    for (let i = 1; i < n; i++) this.depth[i] = this.depth[this.parent[i]] + 1;
    const lists = Array.from({ length: this.bufferCount + 1 }, () => []);
    this.isLeaf = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (own[i]) continue;
      this.isLeaf[i] = 1;
      lists[this.buf[i]].push(i);
    }
    // Each leaf's field kind (an index into KINDS), worked out when shown.
    this.kindIx = new Uint8Array(n).fill(255);
    this.leaves = lists.map((l) => Int32Array.from(l));
    this.spans = new Map();
    this.bytesOf = new Map();
  }

  /// Node `i` as {name, kind, start, end, value?, text?, note?}.
  span(i) {
    let s = this.spans.get(i);
    if (!s) this.spans.set(i, (s = this.h.node(i)));
    return s;
  }

  hasKids(i) { return this.first[i] >= 0; }

  /// The field kind of leaf `i`: a KINDS name.
  kind(i) {
    if (this.kindIx[i] === 255) this.kindIx[i] = KINDS.indexOf(kindOf(this.span(i), i > 0 ? this.span(this.parent[i]) : null));
    return KINDS[this.kindIx[i]];
  }

  kids(i) {
    const out = [];
    for (let k = this.first[i]; k >= 0; k = this.next[k]) out.push(k);
    return out;
  }

  /// The first child of `i` named `name`, or -1.
  child(i, name) {
    for (let k = this.first[i]; k >= 0; k = this.next[k]) if (this.span(k).name === name) return k;
    return -1;
  }

  /// Node ids from the root down to `i`.
  ancestry(i) {
    const out = [];
    for (; i >= 0; i = this.parent[i]) out.unshift(i);
    return out;
  }

  /// The leaf of buffer `b` holding byte `o`, or -1.
  leafAt(b, o) {
    const leaves = this.leaves[b];
    if (!leaves) return -1;
    let lo = 0, hi = leaves.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const id = leaves[mid];
      if (o < this.start[id]) hi = mid - 1;
      else if (o >= this.end[id]) lo = mid + 1;
      else return id;
    }
    return -1;
  }

  /// The decoded buffer node `i` shows or owns (its decoded children's), or 0.
  bufferFor(i) {
    if (this.buf[i]) return this.buf[i];
    const k = this.first[i];
    return k >= 0 && this.buf[k] !== this.buf[i] ? this.buf[k] : 0;
  }

  bufferBytes(k) {
    if (!this.bytesOf.has(k)) this.bytesOf.set(k, this.h.bufferBytes(k));
    return this.bytesOf.get(k);
  }

  bufferLabel(k) { return this.h.bufferLabel(k); }

  bufferError(k) { return this.h.bufferError(k); }

  free() {
    if (this.h) this.h.free();
    this.h = null;
  }
}

/// One virtualised hex pane over one buffer.
class HexPane {
  constructor(el, view) {
    this.el = el;
    this.view = view;
    this.buf = 0;
    this.bytes = new Uint8Array(0);
    this.hl = null;
    this.cursor = -1;
    this.errorAt = -1;
    this.rows = null;
    el.addEventListener("scroll", () => this.renderRows());
    el.addEventListener("mouseover", (e) => {
      const o = e.target.dataset && e.target.dataset.o;
      if (o !== undefined) view.hoverByte(this.buf, +o);
    });
    el.addEventListener("mouseleave", () => view.clearTreeHl());
    el.addEventListener("click", (e) => {
      const o = e.target.dataset && e.target.dataset.o;
      if (o !== undefined) view.selectByte(this.buf, +o);
    });
    el.addEventListener("keydown", (e) => this.key(e));
  }

  load(buf, bytes, errorAt) {
    this.buf = buf;
    this.bytes = bytes;
    this.hl = null;
    this.cursor = -1;
    this.errorAt = errorAt;
    this.el.replaceChildren();
    this.el.scrollTop = 0;
    const spacer = el("div", "spacer");
    spacer.style.height = `${Math.ceil(bytes.length / ROW) * ROW_PX}px`;
    this.rows = el("div", "rows");
    spacer.append(this.rows);
    this.el.append(spacer);
    this.renderRows();
    if (errorAt >= 0) this.scrollToByte(errorAt);
  }

  renderRows() {
    const t = this.view.t;
    if (!this.rows || !t) return;
    const total = Math.ceil(this.bytes.length / ROW);
    const first = Math.max(0, Math.floor(this.el.scrollTop / ROW_PX) - 5);
    const last = Math.min(total, first + Math.ceil((this.el.clientHeight || 400) / ROW_PX) + 10);
    this.rows.style.transform = `translateY(${first * ROW_PX}px)`;
    const frag = document.createDocumentFragment();
    for (let r = first; r < last; r++) {
      const line = el("div", "row");
      line.append(el("span", "off", (r * ROW).toString(16).padStart(6, "0")));
      const cells = el("span", "cells");
      let ascii = "";
      for (let i = r * ROW; i < Math.min((r + 1) * ROW, this.bytes.length); i++) {
        const b = this.bytes[i];
        const leaf = t.leafAt(this.buf, i);
        // A field's first byte is marked too: two fields of a kind side by side stay two.
        const cls = leaf < 0 ? "b cx" : `b k-${t.kind(leaf)}${t.start[leaf] === i ? " fs" : ""}`;
        const c = el("span", cls, b.toString(16).padStart(2, "0"));
        c.dataset.o = i;
        if (this.hl && i >= this.hl[0] && i < this.hl[1]) c.classList.add("hl");
        if (i === this.cursor) c.classList.add("cursor");
        if (i === this.errorAt) c.classList.add("err");
        const mark = this.view.marks && this.view.marks.byteClass(this.buf, i);
        if (mark) c.classList.add(mark);
        cells.append(c);
        ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
      }
      line.append(cells, el("span", "ascii", ascii));
      frag.append(line);
    }
    this.rows.replaceChildren(frag);
  }

  setHl(range) {
    this.hl = range;
    for (const c of this.rows ? this.rows.querySelectorAll(".b") : []) {
      const o = +c.dataset.o;
      c.classList.toggle("hl", !!range && o >= range[0] && o < range[1]);
    }
  }

  scrollToByte(o) {
    const top = Math.floor(o / ROW) * ROW_PX;
    if (top < this.el.scrollTop || top > this.el.scrollTop + this.el.clientHeight - ROW_PX) {
      this.el.scrollTop = Math.max(0, top - ROW_PX * 3);
    }
    this.renderRows();
  }

  key(e) {
    if (e.key === "Enter" && this.view.selected !== undefined) {
      // From a byte to its field's row in the tree, to go on with the tree's keys.
      const row = this.view.tree.querySelector(`.node[data-id="${this.view.selected}"]`);
      if (row) { e.preventDefault(); row.focus(); }
      return;
    }
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -ROW, ArrowDown: ROW }[e.key];
    if (step === undefined || !this.bytes.length) return;
    e.preventDefault();
    const o = Math.min(this.bytes.length - 1, Math.max(0, this.cursor < 0 ? 0 : this.cursor + step));
    this.view.selectByte(this.buf, o);
    this.view.hoverByte(this.buf, o);
    this.scrollToByte(o);
  }
}

/// The byte to mark for a decode error: where it stopped, or, when the
/// bytes ran out (a frame cut short), the last byte read.
function errorByte(err, length) {
  return err && length ? Math.min(err.offset, length - 1) : -1;
}

export class FrameView {
  /// root: the .frame element; describeField(ancestry spans) -> {type, versions, description} | null
  constructor(root, describeField, onEdit) {
    this.root = root;
    this.tree = root.querySelector(".tree");
    this.details = root.querySelector(".details");
    this.describeField = describeField;
    this.onEdit = onEdit;
    this.t = null;
    this.marks = null;
    this.open = new Uint8Array(0);
    this.main = new HexPane(root.querySelector(".hex.frame-hex"), this);
    this.innerBox = root.querySelector(".inner-hex");
    this.innerCaption = root.querySelector(".inner-caption");
    this.inner = new HexPane(root.querySelector(".hex.decoded-hex"), this);
    this.tree.addEventListener("mouseover", (e) => {
      const row = e.target.closest(".node");
      if (row) this.hoverNode(+row.dataset.id);
    });
    this.tree.addEventListener("mouseleave", () => this.setByteHl(null));
    this.tree.addEventListener("click", (e) => {
      const tw = e.target.closest(".twisty");
      const row = e.target.closest(".node");
      if (tw && row) { this.toggle(+row.dataset.id); return; }
      if (row) this.select(+row.dataset.id);
    });
    this.tree.addEventListener("keydown", (e) => this.treeKey(e));
  }

  /// How many spans the shown tree has.
  get count() { return this.t ? this.t.count : 0; }

  /// Shows `bytes` explained by `tree` (a Tree); the view owns it from now
  /// on and frees the one it showed before.
  show(bytes, tree) {
    if (this.t && this.t !== tree) this.t.free();
    this.t = tree;
    this.marks = null;
    this.selected = undefined;
    const expandAll = tree.count <= EXPAND_ALL;
    this.open = new Uint8Array(tree.count);
    for (let i = 0; i < tree.count; i++) this.open[i] = expandAll || tree.depth[i] < 3 ? 1 : 0;
    this.main.load(0, bytes, errorByte(tree.error, bytes.length));
    this.innerBox.hidden = true;
    this.root.classList.remove("decoded");
    this.inner.el.replaceChildren();
    this.inner.rows = null;
    this.inner.buf = -1;
    this.tree.replaceChildren(this.renderNode(0));
    this.details.replaceChildren(el("p", "muted", "Hover or select a byte or a field."));
  }

  /// Marks some nodes and bytes (a comparison's differences): `marks` is
  /// {node(id) -> {cls, badge} | null, byteClass(buffer, offset) -> class | null}.
  setMarks(marks) {
    this.marks = marks;
    this.main.renderRows();
    this.tree.replaceChildren(this.renderNode(0));
  }

  /// Shows nothing (a request that gets no response).
  clear() {
    if (this.t) this.t.free();
    this.t = null;
    this.selected = undefined;
    this.main.el.replaceChildren();
    this.main.rows = null;
    this.innerBox.hidden = true;
    this.root.classList.remove("decoded");
    this.tree.replaceChildren();
    this.details.replaceChildren();
  }

  /// The pane showing buffer `b`, switching the decoded pane to it if need be.
  pane(b) {
    if (b === 0) return this.main;
    if (this.inner.buf !== b || this.innerBox.hidden) {
      const err = this.t.bufferError(b);
      const bytes = this.t.bufferBytes(b);
      this.innerBox.hidden = false;
      this.root.classList.add("decoded");
      this.innerCaption.textContent = `${this.t.bufferLabel(b)}: ${bytes.length} bytes, offsets from their start${err ? ` — decoding stopped: ${err.message}` : ""}`;
      this.inner.load(b, bytes, errorByte(err, bytes.length));
    }
    return this.inner;
  }

  // ---------------------------------------------------------------- bytes

  setByteHl(range, b = 0) {
    const target = range ? this.pane(b) : null;
    for (const p of [this.main, this.inner]) p.setHl(p === target ? range : null);
  }

  hoverByte(b, o) {
    const leaf = this.t.leafAt(b, o);
    this.clearTreeHl();
    if (leaf < 0) return;
    for (const id of this.t.ancestry(leaf)) {
      const row = this.tree.querySelector(`.node[data-id="${id}"]`);
      if (row) row.classList.add(id === leaf ? "hl-leaf" : "hl");
    }
  }

  clearTreeHl() {
    for (const r of this.tree.querySelectorAll(".hl, .hl-leaf")) r.classList.remove("hl", "hl-leaf");
  }

  selectByte(b, o) {
    const p = this.pane(b);
    p.cursor = o;
    const leaf = this.t.leafAt(b, o);
    if (leaf >= 0) this.select(leaf, false);
    else p.renderRows();
  }

  // ---------------------------------------------------------------- tree

  renderNode(id) {
    const t = this.t;
    const s = t.span(id);
    const kids = t.hasKids(id);
    const li = el("div", "item");
    const row = el("div", "node");
    row.dataset.id = id;
    // One row is in the tab order (the selected one, else the root); arrows move from it.
    row.tabIndex = id === (this.selected ?? 0) ? 0 : -1;
    row.setAttribute("role", "treeitem");
    row.setAttribute("aria-level", String(t.depth[id] + 1));
    row.setAttribute("aria-selected", String(id === this.selected));
    if (id === this.selected) row.classList.add("selected");
    if (kids) row.setAttribute("aria-expanded", String(!!this.open[id]));
    row.append(el("span", "twisty", kids ? (this.open[id] ? "▾" : "▸") : " "));
    row.append(el("span", "name", s.name));
    // A leaf's wire type is a chip in its kind's colour, the key to the hex.
    row.append(el("span", t.isLeaf[id] ? `kind k-${t.kind(id)}` : "kind", s.kind));
    if (s.value !== undefined) {
      row.append(el("span", "value", fmtValue(s.value)));
      if (s.text !== undefined) row.append(el("span", "text", JSON.stringify(s.text.length > 80 ? s.text.slice(0, 80) + "…" : s.text)));
    }
    if (s.secret) row.append(el("span", "secret", "secret"));
    if (s.note) row.append(el("span", "note", s.note));
    const mark = this.marks && this.marks.node(id);
    if (mark) {
      row.classList.add(mark.cls);
      if (mark.badge) row.append(el("span", "diff-badge", mark.badge));
    }
    const b = t.buf[id];
    row.append(el("span", "range", b ? `${s.start}–${s.end} of decoded ${b}` : `${s.start}–${s.end}`));
    li.append(row);
    if (kids && this.open[id]) {
      const box = el("div", "kids");
      box.setAttribute("role", "group");
      for (const k of t.kids(id)) box.append(this.renderNode(k));
      li.append(box);
    }
    return li;
  }

  toggle(id) {
    this.open[id] = this.open[id] ? 0 : 1;
    const row = this.tree.querySelector(`.node[data-id="${id}"]`);
    row.parentElement.replaceWith(this.renderNode(id));
  }

  /// Opens every ancestor of `id` so its row exists.
  reveal(id) {
    const anc = this.t.ancestry(id).slice(0, -1);
    const closed = anc.find((a) => !this.open[a]);
    if (closed === undefined) return;
    for (const a of anc) this.open[a] = 1;
    const row = this.tree.querySelector(`.node[data-id="${closed}"]`);
    if (row) row.parentElement.replaceWith(this.renderNode(closed));
    else this.tree.replaceChildren(this.renderNode(0));
  }

  hoverNode(id) {
    const b = this.t.bufferFor(id);
    if (b && !this.t.buf[id]) this.pane(b); // a compressed leaf: show what it decodes to
    this.setByteHl([this.t.start[id], this.t.end[id]], this.t.buf[id]);
  }

  select(id, scroll = true) {
    this.reveal(id);
    for (const r of this.tree.querySelectorAll(".selected, .node[tabindex=\"0\"]")) {
      r.classList.remove("selected");
      r.setAttribute("aria-selected", "false");
      r.tabIndex = -1;
    }
    const row = this.tree.querySelector(`.node[data-id="${id}"]`);
    if (row) {
      row.classList.add("selected");
      row.setAttribute("aria-selected", "true");
      row.tabIndex = 0;
      if (scroll) row.scrollIntoView({ block: "nearest" });
    }
    this.selected = id;
    const b = this.t.buf[id];
    const owned = this.t.bufferFor(id);
    if (owned && !b) this.pane(owned);
    this.setByteHl([this.t.start[id], this.t.end[id]], b);
    const p = this.pane(b);
    if (scroll) p.scrollToByte(this.t.start[id]);
    else p.renderRows();
    this.showDetails(id);
  }

  /// The WAI-ARIA tree keys: Up/Down move between visible rows, Home/End
  /// to the first/last; Right opens a closed node, else moves to its first
  /// child; Left closes an open node, else moves to its parent; Enter or
  /// Space opens or closes. The row moved to is selected (its details and
  /// bytes shown) and focused.
  treeKey(e) {
    if (!this.t) return;
    const rows = [...this.tree.querySelectorAll(".node")];
    const from = e.target.closest && e.target.closest(".node");
    const id = from ? +from.dataset.id : this.selected ?? 0;
    const at = rows.findIndex((r) => +r.dataset.id === id);
    const kids = this.t.hasKids(id), open = !!this.open[id];
    let to = null;
    switch (e.key) {
      case "ArrowDown": to = rows[Math.min(rows.length - 1, at + 1)]; break;
      case "ArrowUp": to = rows[Math.max(0, at - 1)]; break;
      case "Home": to = rows[0]; break;
      case "End": to = rows[rows.length - 1]; break;
      case "ArrowRight":
        if (kids && !open) this.toggle(id);
        else if (kids) to = rows[at + 1];
        break;
      case "ArrowLeft":
        if (kids && open) this.toggle(id);
        else if (id > 0) to = this.tree.querySelector(`.node[data-id="${this.t.parent[id]}"]`);
        break;
      case "Enter": case " ":
        if (kids) this.toggle(id);
        break;
      default: return;
    }
    e.preventDefault();
    const target = to ? +to.dataset.id : id;
    this.select(target);
    const row = this.tree.querySelector(`.node[data-id="${target}"]`);
    if (row) row.focus();
  }

  // ---------------------------------------------------------------- details

  showDetails(id) {
    const t = this.t;
    const anc = t.ancestry(id).map((i) => t.span(i));
    const s = anc[anc.length - 1];
    const info = this.describeField(anc);
    const d = this.details;
    d.replaceChildren();
    d.append(el("h3", "", s.name));
    const dl = el("dl");
    const add = (k, v) => { if (v !== undefined && v !== null && v !== "") { dl.append(el("dt", "", k), el("dd", "", v)); } };
    add("path", anc.slice(1).map((a) => a.name).join(" › "));
    add("wire type", s.kind);
    if (t.isLeaf[id]) {
      const k = t.kind(id);
      dl.append(el("dt", "", "field kind"));
      const dd = el("dd", "field-kind");
      // The swatch shows the colour; a screen reader hears the label alone.
      const sw = el("span", `swatch k-${k}`, k);
      sw.setAttribute("aria-hidden", "true");
      dd.append(sw, ` ${KIND_LABEL[k]}`);
      dl.append(dd);
    }
    if (info && info.type) add("schema type", info.type);
    if (info && info.versions) add("versions", info.versions);
    if (info && info.nullable) add("nullable in", info.nullable);
    if (info && info.tagged) add("tagged in", info.tagged);
    const b = t.buf[id];
    const n = s.end - s.start;
    add("bytes", `${s.start}–${s.end} (${n} byte${n === 1 ? "" : "s"})${b ? ` of the ${t.bufferLabel(b)}` : ""}`);
    if (s.value !== undefined) add("value", fmtValue(s.value));
    if (s.text !== undefined) add("as text", s.text);
    if (s.secret) add("secret", "yes: spate serve --inspect masks these bytes with *");
    if (s.note) add("note", s.note);
    d.append(dl);
    if (info && info.description) d.append(el("p", "desc", info.description));
    if (this.onEdit && !b && editable(s, t.hasKids(id))) {
      const form = el("form", "edit");
      const input = el("input");
      input.value = fmtValue(s.value);
      input.setAttribute("aria-label", `new value for ${s.name}`);
      const btn = el("button", "", "Set");
      btn.type = "submit";
      form.append(el("label", "", "Edit value "), input, btn);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        const bytes = encodeFixed(s, input.value);
        if (bytes) this.onEdit(s.start, bytes);
        else input.setCustomValidity(`not a valid ${s.kind}`), input.reportValidity();
      });
      d.append(form);
    }
  }
}

const WIDTH = { int8: 1, int16: 2, int32: 4, int64: 8, uint16: 2, uint32: 4, bool: 1, float64: 8 };

function editable(s, hasKids) {
  return !hasKids && WIDTH[s.kind] === s.end - s.start;
}

/// Big-endian bytes of `text` as the fixed-width type of span `s`.
export function encodeFixed(s, text) {
  const w = WIDTH[s.kind];
  const buf = new DataView(new ArrayBuffer(w));
  try {
    switch (s.kind) {
      case "bool":
        if (text !== "true" && text !== "false") return null;
        buf.setUint8(0, text === "true" ? 1 : 0); break;
      case "float64": {
        const f = Number(text);
        if (Number.isNaN(f) && text !== "NaN") return null;
        buf.setFloat64(0, f); break;
      }
      default: {
        const v = BigInt(text);
        const signed = s.kind.startsWith("int");
        const bits = BigInt(w * 8);
        const min = signed ? -(1n << (bits - 1n)) : 0n;
        const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
        if (v < min || v > max) return null;
        const u = BigInt.asUintN(w * 8, v);
        for (let i = 0; i < w; i++) buf.setUint8(w - 1 - i, Number((u >> BigInt(8 * i)) & 0xffn));
      }
    }
  } catch { return null; }
  return new Uint8Array(buf.buffer);
}
