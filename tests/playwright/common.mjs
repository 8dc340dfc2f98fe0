// Shared by page.mjs and bench.mjs: Debian's Chromium through playwright-core.
import { chromium } from "playwright-core";

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
}

/// Opens the page and waits until the wasm and the broker are up.
export async function open(browser, url, viewport = { width: 1280, height: 800 }) {
  const page = await browser.newPage({ viewport });
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") page.errors.push(m.text()); });
  // Every answer of 400 or more (a missing favicon.ico included).
  page.failed = [];
  page.on("response", (r) => { if (r.status() >= 400) page.failed.push(`${r.status()} ${r.url()}`); });
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 30000 });
  return page;
}
