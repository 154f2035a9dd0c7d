// The dashboard's operator page in a real browser: headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core, against a running gateway whose
// store holds a few tenants of known traffic (seeded by gateway/tests/browser.rs).
//
//   GATEWAY_URL=http://127.0.0.1:PORT ADMIN_KEY=sk-gw-... API_KEY=sk-gw-... \
//   EXPECT_SPEND_DESC=a,b EXPECT_REQUESTS_DESC=a,b EXPECT_REQUESTS_ASC=b,a \
//   NAME_FILTER=choco EXPECT_NAME_MATCH=charlie EXPECT_CHURN=bravo \
//   EXPECT_WEEK_REQUESTS=bravo:5 SCREENSHOT_DIR=dir node operator.test.mjs
//
// An API key signs in: no Operator tab. An admin key signs in: the tab shows;
// the table lists the tenants by spend, high to low (the expected order, and
// the API's); clicking the Requests header sorts high to low, again low to
// high; the filter box keeps the tenant whose name matches; the flag filter
// keeps the churning tenant, with its badge; the 7-day switch shows the week's
// figures; the CSV download holds the table's rows in the table's order.
// Run by gateway/tests/browser.rs; exits non-zero on any failure.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = process.env;
const BASE = env.GATEWAY_URL;
const SHOTS = env.SCREENSHOT_DIR;
const CHROMIUM = env.CHROMIUM || "/usr/bin/chromium";
for (const name of ["GATEWAY_URL", "ADMIN_KEY", "API_KEY", "EXPECT_SPEND_DESC", "EXPECT_REQUESTS_DESC",
  "EXPECT_REQUESTS_ASC", "NAME_FILTER", "EXPECT_NAME_MATCH", "EXPECT_CHURN", "EXPECT_WEEK_REQUESTS", "SCREENSHOT_DIR"]) {
  assert.ok(env[name], `${name} must be set`);
}
const list = (name) => env[name].split(",");
const TIMEOUT = 60_000;

function step(text) {
  console.log(`- ${text}`);
}

async function api(query) {
  const response = await fetch(`${BASE}/api/v1/admin/operator/tenants${query}`, {
    headers: { Authorization: `Bearer ${env.ADMIN_KEY}` },
  });
  const text = await response.text();
  assert.equal(response.status, 200, `GET ${query}: ${text}`);
  return JSON.parse(text);
}

// Waits until the table shows an answer newer than `before` (a load counter
// the page does not have: the state goes loading -> loaded).
async function loaded(page, action) {
  await page.evaluate(() => { document.querySelector("#view-operator").dataset.state = "stale"; });
  await action();
  await page.waitForSelector('#view-operator[data-state="loaded"]', { state: "attached", timeout: TIMEOUT });
}

async function shown(page) {
  return page.$$eval("#operator-table tbody tr[data-tenant]", (trs) => trs.map((tr) => tr.dataset.tenant));
}

async function cellText(page, tenant, column) {
  return page.$eval(`#operator-table tr[data-tenant="${tenant}"] td[data-col="${column}"]`, (td) => td.textContent);
}

async function main() {
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
    deviceScaleFactor: 1,
    timezoneId: "UTC",
    locale: "en-US",
  });
  const problems = [];
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(BASE) || url.startsWith("data:") || url.startsWith("blob:")) return route.continue();
      problems.push(`request outside the gateway: ${url}`);
      return route.abort();
    });

    step("an API key gets no Operator tab");
    await page.goto(`${BASE}/dashboard`, { waitUntil: "domcontentloaded" });
    await page.fill("#signin-key", env.API_KEY);
    await page.click("#signin-submit");
    await page.waitForSelector("#app", { state: "visible", timeout: TIMEOUT });
    await page.waitForLoadState("networkidle");
    assert.equal(await page.isVisible('.nav a[data-view="operator"]'), false, "no tab for an API key");
    await page.click("#signout");
    await page.waitForSelector("#signin-key", { state: "visible", timeout: TIMEOUT });
    assert.deepEqual(problems, [], "the tab was decided without a refused request");

    step("an admin key gets the tab; the table is by spend, high to low");
    await page.fill("#signin-key", env.ADMIN_KEY);
    await page.click("#signin-submit");
    await page.waitForSelector('.nav a[data-view="operator"]', { state: "visible", timeout: TIMEOUT });
    await loaded(page, () => page.click('.nav a[data-view="operator"]'));
    assert.equal(await page.getAttribute('.nav a[data-view="operator"]', "aria-current"), "page");
    const bySpend = await shown(page);
    assert.deepEqual(bySpend, list("EXPECT_SPEND_DESC"), "default order: spend, high to low");
    assert.deepEqual(bySpend, (await api("?days=30")).data.map((r) => r.tenant), "the API's order");
    assert.equal(await page.getAttribute('th[data-sort="spend_usd"]', "aria-sort"), "descending");
    const api30 = await api("?days=30&sort=tenant");
    for (const row of api30.data) {
      const requests = await cellText(page, row.tenant, "requests");
      assert.ok(requests.startsWith(Number(row.requests).toLocaleString("en-US")), `${row.tenant}: ${requests} vs ${row.requests}`);
    }
    await page.screenshot({ path: join(SHOTS, "operator.png"), fullPage: true });

    step("clicking Requests sorts high to low, again low to high");
    await loaded(page, () => page.click('th[data-sort="requests"] button'));
    assert.deepEqual(await shown(page), list("EXPECT_REQUESTS_DESC"));
    assert.equal(await page.getAttribute('th[data-sort="requests"]', "aria-sort"), "descending");
    assert.equal(await page.getAttribute('th[data-sort="spend_usd"]', "aria-sort"), null);
    await loaded(page, () => page.click('th[data-sort="requests"] button'));
    assert.deepEqual(await shown(page), list("EXPECT_REQUESTS_ASC"));
    assert.equal(await page.getAttribute('th[data-sort="requests"]', "aria-sort"), "ascending");

    step("the filter box keeps the tenant whose name matches");
    await loaded(page, () => page.fill("#operator-q", env.NAME_FILTER));
    assert.deepEqual(await shown(page), [env.EXPECT_NAME_MATCH]);
    await loaded(page, () => page.fill("#operator-q", ""));
    assert.equal((await shown(page)).length, list("EXPECT_SPEND_DESC").length);

    step("the flag filter keeps the churning tenant, with its badge");
    await loaded(page, () => page.selectOption("#operator-flag", "churn_risk"));
    assert.deepEqual(await shown(page), [env.EXPECT_CHURN]);
    const badge = await page.textContent(`tr[data-tenant="${env.EXPECT_CHURN}"] [data-flag="churn_risk"]`);
    assert.equal(badge, "Churn risk");
    await page.screenshot({ path: join(SHOTS, "operator-churn.png"), fullPage: true });
    await loaded(page, () => page.selectOption("#operator-flag", ""));

    step("the 7-day switch shows the week's figures");
    const [tenant, week] = env.EXPECT_WEEK_REQUESTS.split(":");
    await loaded(page, () => page.click('#view-operator [data-days="7"]'));
    assert.equal(await page.getAttribute('#view-operator [data-days="7"]', "class"), "active");
    assert.equal((await cellText(page, tenant, "requests")).replace(/[▲▼▬]/g, ""), week);
    assert.match(await page.textContent("#operator-note"), /last 7 days/);

    step("the CSV download holds the table's rows in its order");
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: TIMEOUT }), page.click("#operator-csv")]);
    const file = join(downloads, "operator.csv");
    await download.saveAs(file);
    const lines = readFileSync(file, "utf8").split("\r\n").filter((l) => l);
    assert.equal(lines[0].split(",")[0], "tenant");
    assert.deepEqual(lines.slice(1).map((l) => l.split(",")[0]), await shown(page), "CSV rows = table rows");

    assert.deepEqual(problems, [], "no page errors, console errors or requests elsewhere");
    console.log("operator page: ok");
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(downloads, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
