// The report download in a real browser: headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core, against a running `gateway demo`.
//
//   GATEWAY_URL=http://127.0.0.1:PORT DASHBOARD_KEY=sk-gw-... SCREENSHOT_DIR=dir \
//   node reports.test.mjs
//
// Signs in, checks the control offers the last complete ISO week by default
// (and months when switched), clicks "Download PDF report", and checks the
// saved file is a PDF byte for byte the one GET /api/v1/reports/{period}.pdf
// serves the same key; a period the API refuses shows its message. Run by
// gateway/tests/browser.rs; exits non-zero on any failure.
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const reports = require("../../../dashboards/reports.js");

const BASE = process.env.GATEWAY_URL;
const KEY = process.env.DASHBOARD_KEY;
const SHOTS = process.env.SCREENSHOT_DIR;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
assert.ok(BASE && KEY && SHOTS, "GATEWAY_URL, DASHBOARD_KEY and SCREENSHOT_DIR must be set");
const TIMEOUT = 60_000;

function step(text) {
  console.log(`- ${text}`);
}

async function apiPdf(period) {
  const response = await fetch(`${BASE}/api/v1/reports/${period}.pdf`, { headers: { Authorization: `Bearer ${KEY}` } });
  assert.equal(response.status, 200, `GET ${period}.pdf: ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

async function main() {
  // ISO weeks, checked against known dates.
  assert.deepEqual(reports.isoWeek(new Date("2026-11-23T00:00:00Z")), { year: 2026, week: 48 });
  assert.deepEqual(reports.isoWeek(new Date("2027-01-03T00:00:00Z")), { year: 2026, week: 53 });
  assert.deepEqual(reports.isoWeek(new Date("2025-12-29T00:00:00Z")), { year: 2026, week: 1 });
  assert.equal(reports.periods("month", new Date("2026-01-15T00:00:00Z"))[1].value, "2025-12");

  mkdirSync(SHOTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "gateway-chromium-"));
  const downloads = mkdtempSync(join(tmpdir(), "gateway-downloads-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    downloadsPath: downloads,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1440, height: 900 },
    timezoneId: "UTC",
    locale: "en-US",
  });
  const problems = [];
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    step("sign in");
    await page.goto(`${BASE}/dashboard`, { waitUntil: "domcontentloaded" });
    await page.fill("#signin-key", KEY);
    await page.click("#signin-submit");
    await page.waitForSelector('body[data-state="ready"]', { timeout: TIMEOUT, state: "attached" });

    step("the last complete week is offered first");
    const expected = reports.periods("week", new Date())[1].value;
    assert.equal(await page.inputValue("#report-period"), expected);
    const options = await page.$$eval("#report-period option", (nodes) => nodes.map((n) => n.value));
    assert.equal(options.length, 8);

    step(`download ${expected}`);
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: TIMEOUT }),
      page.click("#report-pdf"),
    ]);
    assert.equal(download.suggestedFilename(), `report-${expected}.pdf`);
    const saved = readFileSync(await download.path());
    assert.equal(saved.subarray(0, 5).toString(), "%PDF-");
    let served = await apiPdf(expected);
    if (!saved.equals(served)) served = await apiPdf(expected); // a rollup landed in between
    assert.ok(saved.equals(served), "the download is the API's PDF");
    await page.waitForFunction(() => document.querySelector("#report-status").textContent === "Downloaded");
    await page.screenshot({ path: join(SHOTS, "reports.png"), clip: { x: 0, y: 0, width: 1440, height: 260 } });

    step("months");
    await page.selectOption("#report-kind", "month");
    const month = reports.periods("month", new Date())[1].value;
    assert.equal(await page.inputValue("#report-period"), month);
    assert.equal((await page.$$eval("#report-period option", (n) => n.length)), 12);

    step("a refused period shows the API's message");
    await page.$eval("#report-period", (select) => {
      const bad = document.createElement("option");
      bad.value = "2999-01";
      select.append(bad);
      select.value = "2999-01";
    });
    await page.click("#report-pdf");
    await page.waitForFunction(() => /has not begun/.test(document.querySelector("#report-status").textContent), null, { timeout: TIMEOUT });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(downloads, { recursive: true, force: true });
  }
  console.log("reports.test.mjs: ok");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
