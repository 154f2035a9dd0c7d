// The dashboard's keys page in a real browser: headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core, against a running gateway whose
// admin API keeps keys in its store.
//
//   GATEWAY_URL=http://127.0.0.1:PORT OWNER_KEY=sk-gw-... API_KEY=sk-gw-... \
//   CHAT_MODEL=mock-chat SCREENSHOT_DIR=dir node keys.test.mjs
//
// A tenant owner signs in and opens the keys page; adds a team with a budget
// and changes it, and sets the budget of a team only a key names; creates a
// key, sees it once and copies it (read back from the clipboard); the key
// answers /v1/chat/completions; after closing the dialog and reloading, only
// its prefix is on the page; changes its limit and budget; revokes it after a
// confirmation; and at every step GET /api/v1/admin/keys and /teams (read here
// with the owner's key) show what the page shows, until the revoked key is
// refused (401). An API key that may not manage keys sees the API's 403 said
// plainly; an admin key picks the tenant. Run by gateway/tests/browser.rs; exits non-zero on any failure.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.GATEWAY_URL;
const OWNER_KEY = process.env.OWNER_KEY;
const API_KEY = process.env.API_KEY;
// Optional: an admin key of another tenant, to check the tenant picker.
const ADMIN_KEY = process.env.ADMIN_KEY;
const MODEL = process.env.CHAT_MODEL || "mock-chat";
const SHOTS = process.env.SCREENSHOT_DIR;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
assert.ok(BASE && OWNER_KEY && API_KEY && SHOTS, "GATEWAY_URL, OWNER_KEY, API_KEY and SCREENSHOT_DIR must be set");

const TIMEOUT = 60_000;
// The contract: a revoked key is refused everywhere within 1 s. Polled up to
// this long; the time it took is printed.
const REFUSAL_BOUND_MS = 5_000;
const RUN = Math.random().toString(36).slice(2, 8);

function step(text) {
  console.log(`- ${text}`);
}

async function api(path, { key = OWNER_KEY, method = "GET", body } = {}) {
  const init = { method, headers: { Authorization: `Bearer ${key}` } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`${BASE}${path}`, init);
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch (_) { /* not JSON */ }
  return { status: response.status, json, text };
}

async function adminKeys(query = "") {
  const answer = await api(`/api/v1/admin/keys${query}`);
  assert.equal(answer.status, 200, `GET /api/v1/admin/keys${query}: ${answer.text}`);
  return answer;
}

async function adminTeams() {
  const answer = await api("/api/v1/admin/teams");
  assert.equal(answer.status, 200, `GET /api/v1/admin/teams: ${answer.text}`);
  return answer.json.data;
}

async function chat(key) {
  const response = await fetch(`${BASE}/v1/chat/completions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "Say hello" }] }),
  });
  return { status: response.status, text: await response.text() };
}

// Decimal text compared as numbers without floats: "5" equals "5.00".
function sameAmount(a, b) {
  const norm = (v) => {
    if (v === null || v === undefined || v === "") return null;
    const [int, frac = ""] = String(v).split(".");
    const f = frac.replace(/0+$/, "");
    return (int.replace(/^0+(?=\d)/, "") || "0") + (f ? "." + f : "");
  };
  return norm(a) === norm(b);
}

async function keysReady(page, after) {
  await page.waitForFunction((n) => {
    const view = document.querySelector("#view-keys");
    return view && view.dataset.state === "ready" && view.dataset.loads !== n;
  }, after === undefined ? null : after, { timeout: TIMEOUT });
  return page.getAttribute("#view-keys", "data-loads");
}

// The keys table as the page shows it.
async function rows(page) {
  return page.$$eval("#keys-table tbody tr[data-id]", (trs) => trs.map((tr) => ({
    id: tr.dataset.id,
    prefix: tr.dataset.prefix,
    revoked: tr.dataset.revoked === "true",
    lastUsed: tr.querySelector("[data-last-used]").dataset.lastUsed,
    text: tr.textContent,
  })));
}

async function teamRow(page, id) {
  return page.$eval(`#teams-table tr[data-team="${id}"]`, (tr) => ({
    daily: tr.querySelector('[data-budget="daily"]').dataset.value,
    monthly: tr.querySelector('[data-budget="monthly"]').dataset.value,
    text: tr.textContent,
  }));
}

async function focusedId(page) {
  return page.evaluate(() => document.activeElement && document.activeElement.id);
}

// What a dialog's `close` event does (focus, forgetting a key) happens after the
// click that closed it returns: wait for it, a bounded while.
async function afterClose(page, check, arg, message) {
  await page.waitForFunction(check, arg, { timeout: 5000 }).catch(() => assert.fail(message));
}

async function main() {
  mkdirSync(SHOTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "gateway-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: { width: 1440, height: 900 },
    deviceScaleFactor: 1,
    timezoneId: "UTC",
    locale: "en-US",
  });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
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

    step("a key that may not manage keys sees the API's refusal, said plainly");
    await page.goto(`${BASE}/dashboard#keys`, { waitUntil: "domcontentloaded" });
    await page.fill("#signin-key", API_KEY);
    await page.click("#signin-submit");
    await page.waitForSelector("#app", { state: "visible", timeout: TIMEOUT });
    await page.waitForSelector('#view-keys[data-state="error"]', { state: "attached", timeout: TIMEOUT });
    const refusal = await page.textContent("#keys-error");
    assert.match(refusal, /may not manage keys/, `error banner: ${refusal}`);
    assert.match(refusal, /owner/, `the banner says which key can: ${refusal}`);
    assert.equal(await page.isVisible("#keys-error"), true);
    await page.click("#signout");
    await page.waitForSelector("#signin-key", { state: "visible", timeout: TIMEOUT });
    problems.length = 0; // the 403s above are logged by the browser; they were the point

    step("the tenant owner signs in and the keys page lists what the API lists");
    await page.fill("#signin-key", OWNER_KEY);
    await page.click("#signin-submit");
    await page.waitForSelector("#app", { state: "visible", timeout: TIMEOUT });
    if (!(await page.url()).endsWith("#keys")) await page.click('.nav a[data-view="keys"]');
    let loads = await keysReady(page);
    assert.equal(await page.getAttribute('.nav a[data-view="keys"]', "aria-current"), "page");
    assert.equal(await focusedId(page), "keys-title", "switching to the page moves focus to its heading");
    const before = (await adminKeys()).json.data;
    const shownBefore = await rows(page);
    assert.deepEqual(shownBefore.map((r) => r.id).sort(), before.map((k) => k.id).sort(), "the page lists the API's keys");
    for (const key of before) {
      const row = shownBefore.find((r) => r.id === key.id);
      // A config key has no prefix (only its hash is configured): it goes by its id.
      assert.equal(row.prefix, key.prefix ?? "");
      assert.ok(row.text.includes(key.prefix ? key.prefix + "…" : key.id), `row of ${key.id} shows its prefix or id`);
      if (key.source === "config") assert.match(row.text, /config/, `config key ${key.id} is marked read-only`);
    }

    step("every field of the page has a label");
    const unlabelled = await page.$$eval("#view-keys input, #view-keys select, dialog input, dialog select",
      (nodes) => nodes.filter((n) => n.labels.length === 0 && !n.getAttribute("aria-label")).map((n) => n.id || n.name));
    assert.deepEqual(unlabelled, []);

    step("add a team with a daily budget; the API shows it");
    const team = `web-${RUN}`;
    await page.click("#team-new");
    await page.waitForSelector("#team-dialog[open]", { timeout: TIMEOUT });
    assert.equal(await focusedId(page), "team-id");
    await page.fill("#team-id", team);
    await page.fill("#team-name", "Web team");
    await page.fill("#team-budget-daily", "not money");
    await page.click("#team-submit");
    assert.match(await page.textContent("#team-error"), /amount in dollars/);
    assert.equal(await page.getAttribute("#team-budget-daily", "aria-invalid"), "true");
    assert.equal(await focusedId(page), "team-budget-daily", "the wrong field gets the focus");
    await page.fill("#team-budget-daily", "5");
    await page.click("#team-submit");
    loads = await keysReady(page, loads);
    assert.equal(await page.isVisible("#team-dialog"), false);
    let teams = await adminTeams();
    let made = teams.find((t) => t.id === team);
    assert.ok(made, `the API lists team ${team}: ${JSON.stringify(teams)}`);
    assert.ok(sameAmount(made.budget_daily_usd, "5"), `daily budget ${made.budget_daily_usd}`);
    assert.equal(made.budget_monthly_usd, null);
    let shownTeam = await teamRow(page, team);
    assert.equal(shownTeam.daily, made.budget_daily_usd);
    assert.ok(shownTeam.text.includes("$5.00"), shownTeam.text);

    step("set the team's budget: monthly $120.50, no daily budget; the API shows it");
    await page.click(`[data-team-budget="${team}"]`);
    await page.waitForSelector("#team-dialog[open]", { timeout: TIMEOUT });
    assert.equal(await page.inputValue("#team-budget-daily"), made.budget_daily_usd, "the form starts from the API's figure");
    await page.fill("#team-budget-daily", "");
    await page.fill("#team-budget-monthly", "120.50");
    await page.click("#team-submit");
    loads = await keysReady(page, loads);
    teams = await adminTeams();
    made = teams.find((t) => t.id === team);
    assert.equal(made.budget_daily_usd, null, "the daily budget is cleared");
    assert.ok(sameAmount(made.budget_monthly_usd, "120.50"), `monthly budget ${made.budget_monthly_usd}`);
    shownTeam = await teamRow(page, team);
    assert.equal(shownTeam.daily, "");
    assert.equal(shownTeam.monthly, made.budget_monthly_usd);
    assert.ok(shownTeam.text.includes("$120.50"), shownTeam.text);
    await afterClose(page, (t) => document.activeElement === document.querySelector(`[data-team-budget="${t}"]`), team,
      "closing the dialog returns focus to its button");

    step("a team only a key names (the config key's `platform`) is listed; its budget can be set");
    assert.ok(!(await adminTeams()).some((t) => t.id === "platform"), "no team record for platform yet");
    assert.match((await teamRow(page, "platform")).text, /from keys/);
    await page.click('[data-team-budget="platform"]');
    await page.waitForSelector("#team-dialog[open]", { timeout: TIMEOUT });
    await page.fill("#team-budget-daily", "3");
    await page.click("#team-submit");
    loads = await keysReady(page, loads);
    const platform = (await adminTeams()).find((t) => t.id === "platform");
    assert.ok(platform && sameAmount(platform.budget_daily_usd, "3"), `platform: ${JSON.stringify(platform)}`);
    assert.equal((await teamRow(page, "platform")).daily, platform.budget_daily_usd);

    step("create a key: a wrong limit is refused by the form, then the key is made");
    const label = `browser ${RUN}`;
    await page.click("#key-new");
    await page.waitForSelector("#key-create-dialog[open]", { timeout: TIMEOUT });
    assert.equal(await focusedId(page), "key-label");
    await page.fill("#key-label", label);
    await page.selectOption("#key-team", team);
    await page.fill("#key-rpm", "lots");
    await page.click("#key-create-submit");
    assert.match(await page.textContent("#key-create-error"), /whole number/);
    assert.equal(await focusedId(page), "key-rpm");
    await page.fill("#key-rpm", "600");
    await page.fill("#key-budget-daily", "2.50");
    await page.click("#key-create-submit");
    await page.waitForSelector("#key-created-dialog[open]", { timeout: TIMEOUT });
    const plain = await page.inputValue("#key-created-value");
    assert.match(plain, /^sk-gw-\S{16,}$/, `the new key: ${plain.slice(0, 10)}…`);
    const prefix = (await page.textContent("#key-created-prefix")).replace("…", "");
    assert.ok(prefix.length >= 6 && plain.startsWith(prefix), `prefix ${prefix} starts the key`);

    step("copy it: the clipboard holds exactly the key");
    await page.click("#key-created-copy");
    await page.waitForFunction(() => document.querySelector("#key-created-dialog").dataset.copied, null, { timeout: TIMEOUT });
    assert.equal(await page.getAttribute("#key-created-dialog", "data-copied"), "true", await page.textContent("#key-created-copied"));
    assert.equal(await page.textContent("#key-created-copied"), "Copied to the clipboard.");
    const clipboard = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(clipboard, plain, "the clipboard holds the key");
    await page.screenshot({ path: join(SHOTS, "keys-created.png"), mask: [page.locator("#key-created-value")], maskColor: "#cbd5e1" });

    step("the API lists the key by its prefix and never its text; the key calls the models");
    loads = await keysReady(page, loads); // the list reloaded behind the dialog
    const listed = await adminKeys();
    assert.ok(!listed.text.includes(plain), "the key's text is not in the API's list");
    const created = listed.json.data.find((k) => k.prefix === prefix);
    assert.ok(created, `the API lists the new key ${prefix}`);
    assert.equal(created.label, label);
    assert.equal(created.team, team);
    assert.equal(created.role, "api");
    assert.equal(created.rpm, 600);
    assert.ok(sameAmount(created.budget_daily_usd, "2.50"), `key budget ${created.budget_daily_usd}`);
    assert.equal(created.revoked_at, null);
    const answer = await chat(plain);
    assert.equal(answer.status, 200, `the new key calls ${MODEL}: ${answer.text}`);

    step("closing the dialog forgets the key; a reload shows only its prefix");
    await page.click("#key-created-done");
    assert.equal(await page.isVisible("#key-created-dialog"), false);
    await afterClose(page, () => document.querySelector("#key-created-value").value === "", null, "the dialog forgets the key");
    await afterClose(page, () => document.activeElement && document.activeElement.id === "key-new", null, "focus returns to Create key");
    assert.ok(!(await page.content()).includes(plain), "the key's text left the page");
    await page.reload({ waitUntil: "domcontentloaded" });
    loads = await keysReady(page);
    const html = await page.content();
    assert.ok(!html.includes(plain), "after a reload the key's text is nowhere on the page");
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }));
    assert.ok(!stored.includes(plain), "nor in the browser's storage");
    let shown = await rows(page);
    let row = shown.find((r) => r.id === created.id);
    assert.ok(row && row.prefix === prefix && row.text.includes(prefix + "…") && row.text.includes(label), JSON.stringify(row));
    assert.ok(row.text.includes("600 rpm") && row.text.includes("$2.50"), `limits and budget shown: ${row.text}`);
    const afterUse = (await adminKeys()).json.data.find((k) => k.id === created.id);
    assert.equal(row.lastUsed, afterUse.last_used_at || "", "last use as the API states it");
    await page.screenshot({ path: join(SHOTS, "keys.png"), fullPage: true });

    step("edit the key: no rpm limit, a $10 monthly budget; the API shows it, the rest unchanged");
    await page.click(`[data-edit="${created.id}"]`);
    await page.waitForSelector("#key-create-dialog[open]", { timeout: TIMEOUT });
    assert.equal(await page.inputValue("#key-rpm"), "600", "the form starts from the key's settings");
    assert.equal(await page.inputValue("#key-budget-daily"), created.budget_daily_usd);
    assert.equal(await page.inputValue("#key-team"), team);
    assert.equal(await page.isDisabled("#key-role"), true, "a key's role is not edited");
    await page.fill("#key-rpm", "");
    await page.fill("#key-budget-monthly", "10");
    await page.click("#key-create-submit");
    loads = await keysReady(page, loads);
    assert.equal(await page.isVisible("#key-create-dialog"), false);
    const edited = (await api(`/api/v1/admin/keys/${created.id}`)).json;
    assert.equal(edited.rpm, null, `rpm cleared: ${JSON.stringify(edited)}`);
    assert.ok(sameAmount(edited.budget_monthly_usd, "10"), `monthly budget ${edited.budget_monthly_usd}`);
    assert.equal(edited.budget_daily_usd, created.budget_daily_usd, "the daily budget is untouched");
    assert.equal(edited.label, label);
    assert.equal(edited.team, team);
    row = (await rows(page)).find((r) => r.id === created.id);
    assert.ok(row.text.includes("$10.00") && !row.text.includes("600 rpm"), `row after the edit: ${row.text}`);

    step("revoke: Cancel keeps the key; confirming revokes it");
    await page.click(`[data-revoke="${created.id}"]`);
    await page.waitForSelector("#key-revoke-dialog[open]", { timeout: TIMEOUT });
    assert.ok((await page.textContent("#key-revoke-text")).includes(prefix + "…"), "the confirmation names the key");
    assert.equal(await page.evaluate(() => document.activeElement.textContent), "Cancel", "Cancel has the focus");
    await page.keyboard.press("Escape");
    assert.equal(await page.isVisible("#key-revoke-dialog"), false);
    assert.equal((await api(`/api/v1/admin/keys/${created.id}`)).json.revoked_at, null, "Cancel revoked nothing");
    await page.click(`[data-revoke="${created.id}"]`);
    await page.waitForSelector("#key-revoke-dialog[open]", { timeout: TIMEOUT });
    const revokedAt = Date.now();
    await page.click("#key-revoke-confirm");
    loads = await keysReady(page, loads);
    assert.match(await page.textContent("#keys-notice"), /revoked/);
    shown = await rows(page);
    assert.ok(!shown.some((r) => r.id === created.id), "a revoked key leaves the default list");
    await page.check("#keys-show-revoked");
    loads = await keysReady(page, loads);
    shown = await rows(page);
    row = shown.find((r) => r.id === created.id);
    assert.ok(row && row.revoked && /revoked/.test(row.text), `shown as revoked: ${JSON.stringify(row)}`);

    step("the API shows it revoked, and the key is refused");
    const one = await api(`/api/v1/admin/keys/${created.id}`);
    assert.equal(one.status, 200, one.text);
    assert.ok(one.json.revoked_at, `revoked_at is set: ${one.text}`);
    const all = (await adminKeys("?include_revoked=true")).json.data.find((k) => k.id === created.id);
    assert.equal(all.revoked_at, one.json.revoked_at);
    const active = (await adminKeys()).json.data;
    assert.ok(!active.some((k) => k.id === created.id), "the default list leaves it out, as the page does");
    let refused;
    while (Date.now() - revokedAt < REFUSAL_BOUND_MS) {
      refused = await chat(plain);
      if (refused.status === 401) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(refused.status, 401, `the revoked key is refused: ${refused.status} ${refused.text}`);
    const error = JSON.parse(refused.text).error;
    assert.ok(error && typeof error.message === "string", `OpenAI error shape: ${refused.text}`);
    step(`  refused ${Date.now() - revokedAt} ms after the click on "Revoke key"`);
    problems.length = 0; // nothing of the page's; the refusals were fetched from here

    step("the page lists exactly the API's keys at the end too");
    const final = (await adminKeys("?include_revoked=true")).json.data;
    shown = await rows(page);
    assert.deepEqual(shown.map((r) => r.id).sort(), final.map((k) => k.id).sort());

    step("phone-sized: the keys page needs no sideways scrolling of the page itself");
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than a phone screen`);
    await page.setViewportSize({ width: 1440, height: 900 });

    step("sign-out clears the page");
    await page.click("#signout");
    await page.waitForSelector("#signin-key", { state: "visible", timeout: TIMEOUT });
    assert.equal(await page.$$eval("#keys-table tbody tr", (r) => r.length), 0);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);

    if (ADMIN_KEY) {
      step("an admin key (of another tenant) picks the tenant whose keys it manages");
      await page.goto(`${BASE}/dashboard#keys`, { waitUntil: "domcontentloaded" });
      await page.fill("#signin-key", ADMIN_KEY);
      await page.click("#signin-submit");
      loads = await keysReady(page);
      assert.equal(await page.isVisible("#keys-tenant"), true, "the tenant picker is shown");
      const tenants = await page.$$eval("#keys-tenant option", (o) => o.map((n) => n.value));
      assert.ok(tenants.includes("acme") && tenants.length > 1, `tenants: ${tenants}`);
      await page.selectOption("#keys-tenant", "acme");
      loads = await keysReady(page, loads);
      const revoked = (await page.isChecked("#keys-show-revoked")) ? "&include_revoked=true" : "";
      const acme = (await api(`/api/v1/admin/keys?tenant=acme${revoked}`, { key: ADMIN_KEY })).json.data;
      shown = await rows(page);
      assert.deepEqual(shown.map((r) => r.id).sort(), acme.map((k) => k.id).sort(), "acme's keys, as the API lists them for the admin");
      assert.ok(shown.some((r) => r.id === created.id), "including the one the owner made");
      assert.equal(await page.textContent("#tenant"), "acme");
      await page.click("#signout");
      await page.waitForSelector("#signin-key", { state: "visible", timeout: TIMEOUT });
    }

    assert.deepEqual(problems, [], "the page logged no errors and fetched nothing from outside");
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  console.log("keys browser test: all checks passed");
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});
