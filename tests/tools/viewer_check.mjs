// Drives the viewer page in headless Chromium (puppeteer-core, the system's chromium):
// loads it, waits for the map to be idle, zooms onto a rendered parcel, clicks it, and prints
// one JSON line: console errors and failed requests, the features MapLibre rendered, the
// layer list, the popup's text.
//   node viewer_check.mjs URL CHROMIUM
import puppeteer from "puppeteer-core";

const [url, chromium] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
  ],
});
const out = { errors: [], rendered: 0, rendered_after_zoom: 0, layers: [], popup: "" };
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 900, height: 700 });
  page.on("console", (m) => { if (m.type() === "error") out.errors.push(m.text()); });
  page.on("pageerror", (e) => out.errors.push(String(e)));
  page.on("requestfailed", (r) => out.errors.push(`request failed: ${r.url()}`));
  page.on("response", (r) => { if (r.status() >= 400) out.errors.push(`${r.status()} ${r.url()}`); });
  await page.goto(url, { waitUntil: "load" });
  const idle = () => page.evaluate(() => new Promise((done) => {
    const m = window.tuilerieMap;
    if (m.loaded() && m.areTilesLoaded()) done(); else m.once("idle", () => done());
  }));
  await page.waitForFunction(() => window.tuilerieMap !== undefined, { timeout: 30000 });
  await idle();
  out.rendered = await page.evaluate(() =>
    window.tuilerieMap.queryRenderedFeatures().filter((f) => f.source === "tuilerie").length);
  out.layers = await page.$$eval("#layers label", (ls) => ls.map((l) => l.textContent.trim()));
  // Onto a rendered feature, deep enough for every attribute, then click it.
  const target = await page.evaluate(() => {
    const f = window.tuilerieMap.queryRenderedFeatures().find((f) => f.source === "tuilerie");
    if (!f) return null;
    let c = f.geometry.coordinates;
    while (Array.isArray(c[0])) c = c[0];
    return c;
  });
  if (target) {
    await page.evaluate((c) => window.tuilerieMap.jumpTo({ center: c, zoom: 17 }), target);
    await new Promise((r) => setTimeout(r, 200));
    await idle();
    const hit = await page.evaluate(() => {
      const m = window.tuilerieMap;
      const all = m.queryRenderedFeatures().filter((f) => f.source === "tuilerie");
      // Right of the layer panel (top left), where a click reaches the map.
      for (let y = 250; y < 680; y += 15) for (let x = 300; x < 880; x += 15) {
        if (m.queryRenderedFeatures([x, y]).some((f) => f.source === "tuilerie")) return { x, y, n: all.length };
      }
      return { n: all.length };
    });
    out.rendered_after_zoom = hit.n;
    if (hit.x !== undefined) {
      await page.mouse.click(hit.x, hit.y);
      await page.waitForSelector(".maplibregl-popup-content", { timeout: 10000 });
      out.popup = await page.$eval(".maplibregl-popup-content", (e) => e.innerText);
    }
  }
} catch (e) {
  out.errors.push(`driver: ${e}`);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
