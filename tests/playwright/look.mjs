// The playground's visual language in Debian's Chromium
// (tests/tests/e2e/playground_look.rs starts `spate serve --playground`
// and runs this):
//
//   node look.mjs URL VECTORS_DIR SCREENSHOT_DIR
//
// Field-kind colours, read from the page in light and dark mode with
// librdkafka's Produce v9 explained (lengths, ints, varints, strings,
// bytes, tagged fields and record-batch fields all in it): the text on
// every kind's background has a contrast of 4.5:1 or more, in the hex
// and in the tree's kind chips; every two kinds, and every kind and the
// pane's background, differ by a CIEDE2000 distance of MIN_DE or more
// for normal vision and for protanopia, deuteranopia and tritanopia
// (colour.mjs simulates them); each kind also has its own underline or
// style in the hex, and the details pane names it. Layout: at 375x740 and
// 768x1024 no horizontal page scroll, hex over tree, both wide enough to
// use, every control on screen; screenshots of each. Every check prints
// one line; any failure exits 1.

import fs from "node:fs";
import path from "node:path";
import { launch, open } from "./common.mjs";
import { contrast, deltaE2000, lab, parse, selfCheck, simulate } from "./colour.mjs";

const [url, vectors, shots] = process.argv.slice(2);
fs.mkdirSync(shots, { recursive: true });
const hexOf = (name) => [...fs.readFileSync(path.join(vectors, name))].map((b) => b.toString(16).padStart(2, "0")).join(" ");
const produce = hexOf("produce_request_v9_librdkafka.bin");

// Two backgrounds a glance tells apart on a small patch; 2 is just noticeable.
const MIN_DE = 10;
const VISIONS = ["normal", "protanopia", "deuteranopia", "tritanopia"];

let failed = false;
function check(what, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? `: ${detail}` : ""}`);
  if (!ok) failed = true;
}

async function explain(page, hex) {
  await page.fill("#input", hex);
  await page.click("#explain");
  await page.waitForFunction(() => /ProduceRequest v9/.test(document.querySelector("#req-title").textContent));
  await page.mouse.move(0, 0);
}

/// The colour classes the hex uses (a field kind's `k-NAME`, or the
/// positional `cN` of before) with one cell's colours each, and the pane's
/// background; the tree's kind chips likewise.
const palette = (page) => page.evaluate(() => {
  const effectiveBg = (e) => {
    for (; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (!/rgba\(.*, 0\)$/.test(c) && c !== "transparent") return c;
    }
    return getComputedStyle(document.documentElement).backgroundColor;
  };
  const hex = document.querySelector("#request-frame .frame-hex");
  const kinds = {};
  for (const c of hex.querySelectorAll(".b")) {
    const k = [...c.classList].find((x) => /^(k-[a-z]+|c\d)$/.test(x));
    if (!k || kinds[k] || c.classList.contains("hl") || c.classList.contains("cursor")) continue;
    const s = getComputedStyle(c);
    kinds[k] = { bg: s.backgroundColor, fg: s.color, deco: `${s.textDecorationLine} ${s.textDecorationStyle} ${s.fontStyle}` };
  }
  const chips = {};
  for (const c of document.querySelectorAll("#request-frame .tree .kind")) {
    const k = [...c.classList].find((x) => /^k-[a-z]+$/.test(x));
    if (!k || chips[k]) continue;
    chips[k] = { bg: effectiveBg(c), fg: getComputedStyle(c).color };
  }
  return { kinds, chips, pane: effectiveBg(hex) };
});

function checkPalette(mode, { kinds, chips, pane }) {
  const names = Object.keys(kinds);
  check(`${mode}: the hex colours at least 5 field kinds`, names.length >= 5, names.join(" "));
  const low = [];
  for (const [k, c] of [...Object.entries(kinds), ...Object.entries(chips).map(([k, c]) => [`tree ${k}`, c])]) {
    const r = contrast(parse(c.fg), parse(c.bg));
    if (r < 4.5) low.push(`${k} ${c.fg} on ${c.bg}: ${r.toFixed(2)}`);
  }
  const worst = Math.min(...Object.values(kinds).map((c) => contrast(parse(c.fg), parse(c.bg))));
  check(`${mode}: text on every kind's background has contrast 4.5:1 or more`, low.length === 0, low.length ? low.join("; ") : `lowest ${worst.toFixed(2)}`);
  for (const v of VISIONS) {
    const sim = (css) => { const rgb = parse(css); return lab(v === "normal" ? rgb : simulate(rgb, v)); };
    const all = [...names.map((k) => [k, sim(kinds[k].bg)]), ["pane", sim(pane)]];
    let min = Infinity, at = "";
    for (let i = 0; i < names.length; i++) {
      for (let j = i + 1; j < all.length; j++) {
        const d = deltaE2000(all[i][1], all[j][1]);
        if (d < min) { min = d; at = `${all[i][0]}/${all[j][0]}`; }
      }
    }
    check(`${mode}: kinds differ by CIEDE2000 ${MIN_DE} or more for ${v} vision`, min >= MIN_DE, `closest ${at}: ${min.toFixed(2)}`);
  }
  const decos = names.map((k) => kinds[k].deco);
  check(`${mode}: every kind has its own underline or style in the hex, not only a colour`, new Set(decos).size === names.length,
    names.map((k, i) => `${k}=${decos[i]}`).join(", "));
}

const browser = await launch();
try {
  check("colour science: CIEDE2000, sRGB and Machado's matrices give known answers", selfCheck());
  for (const mode of ["light", "dark"]) {
    const page = await open(browser, url, { width: 1400, height: 900 });
    await page.emulateMedia({ colorScheme: mode });
    await explain(page, produce);
    checkPalette(mode, await palette(page));
    // The details pane says in words what the colour says.
    await page.click("#request-frame .frame-hex .b[data-o='0']");
    const dt = await page.$$eval("#request-frame .details dt", (d) => d.map((e) => e.textContent));
    const kind = await page.textContent("#request-frame .details dd.field-kind").catch(() => "");
    check(`${mode}: the details pane names the selected byte's kind`, dt.includes("field kind") && /length/.test(kind), `${dt.join(", ")}: ${kind}`);
    await page.locator("#request-frame").screenshot({ path: path.join(shots, `30-kinds-${mode}.png`) });
    check(`${mode}: no page errors`, page.errors.length === 0, page.errors.join("; "));
    await page.close();
  }

  // ---- Phone and tablet widths.
  for (const [w, h] of [[375, 740], [768, 1024]]) {
    const page = await open(browser, url, { width: w, height: h });
    await explain(page, produce);
    const m = await page.evaluate(() => {
      const r = (sel) => { const e = document.querySelector(sel); const b = e.getBoundingClientRect(); return { left: b.left, right: b.right, top: b.top, bottom: b.bottom, w: b.width, h: b.height, sw: e.scrollWidth, cw: e.clientWidth }; };
      const controls = [...document.querySelectorAll("#explain-section .options :is(button, select, input, label)")].filter((e) => e.offsetParent)
        .map((e) => ({ id: e.id || e.textContent.trim().slice(0, 20), right: e.getBoundingClientRect().right, left: e.getBoundingClientRect().left }));
      return { scrollWidth: document.documentElement.scrollWidth, innerWidth, hex: r("#request-frame .frame-hex"), tree: r("#request-frame .tree"), controls };
    });
    check(`${w}x${h}: no horizontal page scroll`, m.scrollWidth <= m.innerWidth, `scrollWidth ${m.scrollWidth}, viewport ${m.innerWidth}`);
    check(`${w}x${h}: the tree is under the hex, each the page's width`, m.tree.top >= m.hex.bottom && m.hex.w >= w * 0.8 && m.tree.w >= w * 0.8 && m.hex.h >= 150 && m.tree.h >= 150,
      JSON.stringify({ hex: m.hex, tree: m.tree }));
    check(`${w}x${h}: a hex row fits its pane (no sideways scroll in it)`, m.hex.sw <= m.hex.cw, `row ${m.hex.sw}px in ${m.hex.cw}px`);
    const off = m.controls.filter((c) => c.left < 0 || c.right > m.innerWidth);
    check(`${w}x${h}: every control is on screen`, m.controls.length > 5 && off.length === 0, JSON.stringify(off));
    await page.screenshot({ path: path.join(shots, `31-width-${w}.png`) });
    await page.locator("#request-frame").screenshot({ path: path.join(shots, `32-frame-${w}.png`) });
    check(`${w}x${h}: no page errors`, page.errors.length === 0, page.errors.join("; "));
    await page.close();
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
