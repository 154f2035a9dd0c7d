// Share links in a real browser: headless Chromium (Debian's /usr/bin/chromium)
// driven by playwright-core, against a gateway holding two tenants' traffic.
//
//   GATEWAY_URL=http://127.0.0.1:PORT OWNER_KEY=sk-gw-... READER_KEY=sk-gw-... \
//   SCREENSHOT_DIR=dir node shares.test.mjs
//
// acme's owner signs in, opens "Share" on the savings page, makes a link of the
// last 30 days with the model and key panels, sees it once; the link opens in a
// fresh browser context (no storage, no key) and shows the same figures as the
// analytics API (read here with acme's reader key) and when it was generated,
// and nothing of globex. A password link asks for its password, refuses a wrong
// one, opens with the right one. The owner revokes the first link in the
// dialog; the link then shows a clear "no longer available" page, as does a
// link past its expiry. Run by gateway/tests/browser.rs; exits non-zero on any failure.
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.GATEWAY_URL;
const OWNER_KEY = process.env.OWNER_KEY;
const READER_KEY = process.env.READER_KEY;
const SHOTS = process.env.SCREENSHOT_DIR;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
assert.ok(BASE && OWNER_KEY && READER_KEY && SHOTS, "GATEWAY_URL, OWNER_KEY, READER_KEY and SCREENSHOT_DIR must be set");
const TIMEOUT = 60_000;

function step(text) {
  console.log(`- ${text}`);
}

async function api(path, { key = READER_KEY, method = "GET", body } = {}) {
  const init = { method, headers: { Authorization: `Bearer ${key}` } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`${BASE}${path}`, init);
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

function days(back) {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() - back);
  return d.toISOString().slice(0, 10);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
});
try {
  // ---- the owner makes a link on the savings page ----
  const owner = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await owner.newPage();
  page.setDefaultTimeout(TIMEOUT);
  await page.goto(`${BASE}/dashboard`);
  await page.fill("#signin-key", OWNER_KEY);
  await page.click("#signin-submit");
  step("the owner opens Share");
  await page.click("#share-open");
  await page.waitForSelector("#share-dialog[open]");
  await page.selectOption("#share-preset", "last_30_days");
  await page.fill("#share-label", "Browser share");
  await page.check('#share-panels input[name="keys"]');
  await page.fill("#share-days", "7");
  await page.click("#share-submit");
  await page.waitForSelector("#share-made:not([hidden])");
  const url = await page.inputValue("#share-url");
  assert.match(url, /\/share\/gws_[A-Za-z0-9_-]{43}$/, url);
  assert.ok((await page.inputValue("#share-embed")).includes(`${url}/embed`));
  await page.waitForSelector('#share-links tr[data-share] [data-status="active"]');
  await page.screenshot({ path: join(SHOTS, "share-dialog.png") });
  await page.click("#share-close");
  // The dialog's `close` event, which clears the link, is dispatched after the click returns.
  await page.waitForFunction(() => document.querySelector("#share-url").value === "", null, { timeout: 5000 })
    .catch(() => assert.fail("the link leaves the page with the dialog"));

  // ---- a fresh context opens it without any key ----
  step("a fresh browser opens the link without a key");
  const visitor = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const shared = await visitor.newPage();
  shared.setDefaultTimeout(TIMEOUT);
  const sent = [];
  shared.on("request", (r) => sent.push(r.headers()["authorization"] || ""));
  await shared.goto(url);
  await shared.waitForSelector('body[data-state="ready"]');
  assert.ok(sent.every((h) => h === ""), "no request carries a key");
  const range = `from=${days(29)}&to=${days(0)}`;
  const summary = await api(`/api/v1/analytics/summary?${range}`);
  for (const name of ["spend_usd", "baseline_usd", "savings_usd", "savings_pct", "requests"]) {
    const value = await shared.getAttribute(`[data-tile="${name}"]`, "data-value");
    assert.equal(value, String(summary[name]), `tile ${name}`);
  }
  const models = await api(`/api/v1/analytics/breakdown?${range}&by=requested_model`);
  const shownModels = await shared.$$eval("#share-panel-models tbody tr td.name", (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(shownModels, models.rows.map((r) => r.requested_model));
  const keys = await api(`/api/v1/analytics/breakdown?${range}&by=key`);
  const shownKeys = await shared.$$eval("#share-panel-keys tbody tr td.name", (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(shownKeys, keys.rows.map((r) => r.key));
  const generated = await shared.textContent("#share-generated");
  assert.match(generated, /^Generated at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/, generated);
  const text = await shared.textContent("body");
  assert.ok(!/globex/i.test(text), "nothing of the other tenant");
  assert.equal(await shared.$("#share-panel-teams"), null, "no panel the view left out");
  await shared.screenshot({ path: join(SHOTS, "share-page.png"), fullPage: true });

  // ---- a password link ----
  step("a password link asks for its password");
  const locked = await api("/api/v1/admin/shares", {
    key: OWNER_KEY,
    method: "POST",
    body: { view: { range: { preset: "last_7_days" }, panels: ["tiles"] }, expires_in_days: 1, password: "correct horse" },
  });
  await shared.goto(locked.url);
  await shared.waitForSelector('body[data-state="password"]');
  await shared.fill("#share-password", "wrong horse!");
  await shared.click("#share-password-submit");
  await shared.waitForFunction(() => document.querySelector("#share-password-error").textContent.includes("not correct"));
  await shared.fill("#share-password", "correct horse");
  await shared.click("#share-password-submit");
  await shared.waitForSelector('body[data-state="ready"]');
  const week = await api(`/api/v1/analytics/summary?from=${days(6)}&to=${days(0)}`);
  assert.equal(await shared.getAttribute('[data-tile="spend_usd"]', "data-value"), week.spend_usd);

  // ---- revoked in the dialog: the link shows a clear page ----
  step("the owner revokes the link; it shows a clear page");
  await page.click("#share-open");
  const listed = await api("/api/v1/admin/shares", { key: OWNER_KEY });
  const first = listed.data.find((link) => link.label === "Browser share");
  const row = `#share-links tr[data-share="${first.id}"]`;
  await page.waitForSelector(`#share-dialog[open] ${row} [data-revoke]`);
  const views = await page.textContent(`${row} td[data-views]`);
  assert.equal(Number(views), first.views, "the dialog shows the API's view count");
  assert.ok(first.views >= 1, `views counted: ${first.views}`);
  await page.click(`${row} [data-revoke]`);
  await page.waitForSelector(`${row} [data-status="revoked"]`);
  const gone = await shared.goto(url);
  assert.equal(gone.status(), 410);
  assert.match(await shared.textContent("h1"), /no longer available/);
  assert.match(await shared.textContent("body"), /revoked/);
  await shared.screenshot({ path: join(SHOTS, "share-gone.png") });

  // ---- and one past its expiry ----
  step("a link past its expiry shows a clear page");
  const soon = await api("/api/v1/admin/shares", {
    key: OWNER_KEY,
    method: "POST",
    body: { view: { range: { preset: "last_7_days" } }, expires_at: new Date(Date.now() + 2500).toISOString() },
  });
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const expired = await shared.goto(soon.url);
  assert.equal(expired.status(), 410);
  assert.match(await shared.textContent("body"), /expired/);
  step("done");
} finally {
  await browser.close();
}
