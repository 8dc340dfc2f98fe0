// A frame shown three ways, linked: a hex view (virtualised, so a 1 MB
// frame renders only the rows on screen), a field tree and a details pane.
// Hovering a byte highlights its field and every ancestor in the tree;
// hovering a tree node highlights its bytes. Clicking (or Enter) selects.

const ROW = 16;
const ROW_PX = 20;
const COLOURS = 8;
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

export class FrameView {
  /// root: the .frame element; describeField(ancestry) -> {type, versions, description} | null
  constructor(root, describeField, onEdit) {
    this.root = root;
    this.hex = root.querySelector(".hex");
    this.tree = root.querySelector(".tree");
    this.details = root.querySelector(".details");
    this.describeField = describeField;
    this.onEdit = onEdit;
    this.bytes = new Uint8Array(0);
    this.nodes = [];
    this.leaves = [];
    this.hl = null;
    this.cursor = -1;
    this.errorAt = -1;
    this.hex.addEventListener("scroll", () => this.renderRows());
    this.hex.addEventListener("mouseover", (e) => {
      const o = e.target.dataset && e.target.dataset.o;
      if (o !== undefined) this.hoverByte(+o);
    });
    this.hex.addEventListener("mouseleave", () => this.clearTreeHl());
    this.hex.addEventListener("click", (e) => {
      const o = e.target.dataset && e.target.dataset.o;
      if (o !== undefined) this.selectByte(+o);
    });
    this.hex.addEventListener("keydown", (e) => this.hexKey(e));
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

  /// Shows `bytes` explained by `ann` ({root, error}).
  show(bytes, ann) {
    this.bytes = bytes;
    this.ann = ann;
    this.nodes = [];
    this.leaves = [];
    this.hl = null;
    this.cursor = -1;
    this.errorAt = ann.error ? ann.error.offset : -1;
    this.index(ann.root, -1, 0);
    const expandAll = this.nodes.length <= EXPAND_ALL;
    for (const n of this.nodes) n.open = expandAll || n.depth < 3;
    // Hex rows: a spacer sized for every row; only visible rows exist.
    this.hex.replaceChildren();
    this.spacer = el("div", "spacer");
    this.spacer.style.height = `${Math.ceil(bytes.length / ROW) * ROW_PX}px`;
    this.rows = el("div", "rows");
    this.spacer.append(this.rows);
    this.hex.append(this.spacer);
    this.renderRows();
    this.tree.replaceChildren(this.renderNode(0));
    this.details.replaceChildren(el("p", "muted", "Hover or select a byte or a field."));
    if (this.errorAt >= 0) this.scrollToByte(this.errorAt);
  }

  index(span, parent, depth) {
    const id = this.nodes.length;
    const n = { id, span, parent, depth, kids: [], open: false, colour: 0 };
    this.nodes.push(n);
    if (span.children && span.children.length) {
      for (const c of span.children) n.kids.push(this.index(c, id, depth + 1));
    } else {
      n.colour = this.leaves.length % COLOURS;
      this.leaves.push(n);
    }
    return id;
  }

  /// The leaf holding byte `o` (binary search over leaves in byte order).
  leafAt(o) {
    let lo = 0, hi = this.leaves.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.leaves[mid].span;
      if (o < s.start) hi = mid - 1;
      else if (o >= s.end) lo = mid + 1;
      else return this.leaves[mid];
    }
    return null;
  }

  ancestry(id) {
    const out = [];
    for (let i = id; i >= 0; i = this.nodes[i].parent) out.unshift(this.nodes[i]);
    return out;
  }

  // ---------------------------------------------------------------- hex

  renderRows() {
    if (!this.rows) return;
    const total = Math.ceil(this.bytes.length / ROW);
    const first = Math.max(0, Math.floor(this.hex.scrollTop / ROW_PX) - 5);
    const last = Math.min(total, first + Math.ceil((this.hex.clientHeight || 400) / ROW_PX) + 10);
    this.rows.style.transform = `translateY(${first * ROW_PX}px)`;
    const frag = document.createDocumentFragment();
    for (let r = first; r < last; r++) {
      const line = el("div", "row");
      line.append(el("span", "off", (r * ROW).toString(16).padStart(6, "0")));
      const cells = el("span", "cells");
      let ascii = "";
      for (let i = r * ROW; i < Math.min((r + 1) * ROW, this.bytes.length); i++) {
        const b = this.bytes[i];
        const leaf = this.leafAt(i);
        const c = el("span", `b c${leaf ? leaf.colour : "x"}`, b.toString(16).padStart(2, "0"));
        c.dataset.o = i;
        if (this.hl && i >= this.hl[0] && i < this.hl[1]) c.classList.add("hl");
        if (i === this.cursor) c.classList.add("cursor");
        if (i === this.errorAt) c.classList.add("err");
        cells.append(c);
        ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
      }
      line.append(cells, el("span", "ascii", ascii));
      frag.append(line);
    }
    this.rows.replaceChildren(frag);
  }

  setByteHl(range) {
    this.hl = range;
    for (const c of this.rows ? this.rows.querySelectorAll(".b") : []) {
      const o = +c.dataset.o;
      c.classList.toggle("hl", !!range && o >= range[0] && o < range[1]);
    }
  }

  scrollToByte(o) {
    const top = Math.floor(o / ROW) * ROW_PX;
    if (top < this.hex.scrollTop || top > this.hex.scrollTop + this.hex.clientHeight - ROW_PX) {
      this.hex.scrollTop = Math.max(0, top - ROW_PX * 3);
    }
    this.renderRows();
  }

  hoverByte(o) {
    const leaf = this.leafAt(o);
    this.clearTreeHl();
    if (!leaf) return;
    for (const n of this.ancestry(leaf.id)) {
      const row = this.tree.querySelector(`.node[data-id="${n.id}"]`);
      if (row) row.classList.add(n === leaf ? "hl-leaf" : "hl");
    }
  }

  clearTreeHl() {
    for (const r of this.tree.querySelectorAll(".hl, .hl-leaf")) r.classList.remove("hl", "hl-leaf");
  }

  selectByte(o) {
    this.cursor = o;
    const leaf = this.leafAt(o);
    if (leaf) this.select(leaf.id, false);
    else this.renderRows();
  }

  hexKey(e) {
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -ROW, ArrowDown: ROW }[e.key];
    if (step === undefined) return;
    e.preventDefault();
    const o = Math.min(this.bytes.length - 1, Math.max(0, (this.cursor < 0 ? 0 : this.cursor + step)));
    this.selectByte(o);
    this.hoverByte(o);
    this.scrollToByte(o);
  }

  // ---------------------------------------------------------------- tree

  renderNode(id) {
    const n = this.nodes[id];
    const s = n.span;
    const li = el("div", "item");
    const row = el("div", `node c${n.kids.length ? "p" : n.colour}`);
    row.dataset.id = id;
    row.tabIndex = -1;
    row.setAttribute("role", "treeitem");
    if (n.kids.length) row.setAttribute("aria-expanded", String(n.open));
    row.append(el("span", "twisty", n.kids.length ? (n.open ? "▾" : "▸") : " "));
    row.append(el("span", "name", s.name));
    row.append(el("span", "kind", s.kind));
    if (s.value !== undefined) {
      row.append(el("span", "value", fmtValue(s.value)));
      if (s.text !== undefined) row.append(el("span", "text", JSON.stringify(s.text.length > 80 ? s.text.slice(0, 80) + "…" : s.text)));
    }
    if (s.note) row.append(el("span", "note", s.note));
    row.append(el("span", "range", `${s.start}–${s.end}`));
    li.append(row);
    if (n.kids.length && n.open) {
      const kids = el("div", "kids");
      kids.setAttribute("role", "group");
      for (const k of n.kids) kids.append(this.renderNode(k));
      li.append(kids);
    }
    return li;
  }

  toggle(id) {
    const n = this.nodes[id];
    n.open = !n.open;
    const row = this.tree.querySelector(`.node[data-id="${id}"]`);
    row.parentElement.replaceWith(this.renderNode(id));
  }

  /// Opens every ancestor of `id` so its row exists.
  reveal(id) {
    const anc = this.ancestry(id).slice(0, -1);
    const closed = anc.find((n) => !n.open);
    if (!closed) return;
    for (const n of anc) n.open = true;
    const row = this.tree.querySelector(`.node[data-id="${closed.id}"]`);
    if (row) row.parentElement.replaceWith(this.renderNode(closed.id));
    else this.tree.replaceChildren(this.renderNode(0));
  }

  hoverNode(id) {
    const s = this.nodes[id].span;
    this.setByteHl([s.start, s.end]);
  }

  select(id, scroll = true) {
    this.reveal(id);
    for (const r of this.tree.querySelectorAll(".selected")) r.classList.remove("selected");
    const row = this.tree.querySelector(`.node[data-id="${id}"]`);
    if (row) {
      row.classList.add("selected");
      row.tabIndex = 0;
      if (scroll) row.scrollIntoView({ block: "nearest" });
    }
    this.selected = id;
    const s = this.nodes[id].span;
    this.setByteHl([s.start, s.end]);
    if (scroll) this.scrollToByte(s.start);
    else this.renderRows();
    this.showDetails(id);
  }

  treeKey(e) {
    const rows = [...this.tree.querySelectorAll(".node")];
    const at = rows.findIndex((r) => +r.dataset.id === this.selected);
    let next = null;
    if (e.key === "ArrowDown") next = rows[Math.min(rows.length - 1, at + 1)];
    else if (e.key === "ArrowUp") next = rows[Math.max(0, at - 1)];
    else if ((e.key === "ArrowRight" || e.key === "ArrowLeft" || e.key === "Enter") && at >= 0) {
      const n = this.nodes[this.selected];
      if (n.kids.length && (e.key === "Enter" || (e.key === "ArrowRight") !== n.open)) this.toggle(n.id);
      this.select(n.id);
      this.tree.querySelector(`.node[data-id="${n.id}"]`).focus();
      e.preventDefault();
      return;
    }
    if (next) {
      e.preventDefault();
      this.select(+next.dataset.id);
      next.focus();
    }
  }

  focusTree() {
    const first = this.tree.querySelector(".node");
    if (first) { first.tabIndex = 0; }
  }

  // ---------------------------------------------------------------- details

  showDetails(id) {
    const anc = this.ancestry(id);
    const s = anc[anc.length - 1].span;
    const info = this.describeField(anc.map((n) => n.span));
    const d = this.details;
    d.replaceChildren();
    d.append(el("h3", "", s.name));
    const dl = el("dl");
    const add = (k, v) => { if (v !== undefined && v !== null && v !== "") { dl.append(el("dt", "", k), el("dd", "", v)); } };
    add("path", anc.slice(1).map((n) => n.span.name).join(" › "));
    add("wire type", s.kind);
    if (info && info.type) add("schema type", info.type);
    if (info && info.versions) add("versions", info.versions);
    if (info && info.nullable) add("nullable in", info.nullable);
    if (info && info.tagged) add("tagged in", info.tagged);
    add("bytes", `${s.start}–${s.end} (${s.end - s.start} byte${s.end - s.start === 1 ? "" : "s"})`);
    if (s.value !== undefined) add("value", fmtValue(s.value));
    if (s.text !== undefined) add("as text", s.text);
    if (s.note) add("note", s.note);
    d.append(dl);
    if (info && info.description) d.append(el("p", "desc", info.description));
    if (this.onEdit && editable(s)) {
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

function editable(s) {
  return !s.children && WIDTH[s.kind] === s.end - s.start;
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
