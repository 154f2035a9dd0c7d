// The dashboard shell and its savings page. Signs in with a key (kept in
// sessionStorage, sent as `Authorization: Bearer` on every call), switches
// between the pages by the URL's hash (#savings, #keys, #operator; the keys
// page is keys.js, the operator page operator.js), reads the analytics API and the ROI endpoint, and draws what they
// return. It computes nothing the API already
// states: tiles show the API's decimal strings, rounded for display only
// (format.js). The one figure made here is this month's projection, from the
// API's month-to-date spend. Every name from the data goes in as text, never
// as HTML.
(function () {
  "use strict";

  const F = window.GatewayFormat;
  const STORAGE_KEY = "gateway.dashboard.key";
  const API = "/api/v1";
  const REFRESH_MS = 60000;
  const REALTIME_MS = 10000;
  const PALETTE = ["#4f46e5", "#059669", "#0ea5e9", "#f59e0b", "#ec4899", "#8b5cf6", "#14b8a6", "#64748b", "#ef4444", "#84cc16"];
  const DIMENSION_LABELS = {
    routed_model: "Served by model", requested_model: "Requested model", provider: "Provider", key: "Key", team: "Team",
  };

  const state = {
    key: null,
    from: null,
    to: null,
    preset: "30",
    filters: { team: "", key: "", provider: "", model: "" },
    by: "routed_model",
    charts: {},
    seq: 0,
    optionsFor: null,
    timers: [],
    view: null,
    // Whether the savings page has loaded since sign-in (it loads when first shown).
    savingsLoaded: false,
    keys: null,
    // The "Promised vs achieved" panel (roi.js).
    promises: null,
    // The operator page (operator.js), for admin keys.
    operator: null,
  };
  const VIEWS = { savings: "Savings", keys: "Keys", operator: "Operator" };

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "style") node.style.cssText = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // ---- dates (UTC days, as the API counts them) ----------------------------
  function isoDay(date) {
    return date.toISOString().slice(0, 10);
  }
  function todayUtc() {
    return isoDay(new Date());
  }
  function addDays(day, n) {
    const d = new Date(day + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return isoDay(d);
  }
  function presetRange(preset) {
    const to = todayUtc();
    if (preset === "mtd") return [to.slice(0, 8) + "01", to];
    return [addDays(to, -(Number(preset) - 1)), to];
  }
  function shortDay(day) {
    const d = new Date(day + "T00:00:00Z");
    return d.toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
  }

  // ---- API -----------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, message, param) {
      super(message);
      this.status = status;
      // The request field the API named as wrong (OpenAI's error `param`).
      this.param = param || null;
    }
  }

  function query(params) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== null && value !== undefined && value !== "") search.set(name, value);
    }
    const text = search.toString();
    return text ? "?" + text : "";
  }

  // One API call. A body makes it a POST unless `method` says otherwise.
  async function call(path, { params, body, key, accept, method } = {}) {
    const headers = { Authorization: "Bearer " + (key || state.key), Accept: accept || "application/json" };
    const init = { headers, cache: "no-store", credentials: "omit", method: method || "GET" };
    if (body !== undefined) {
      init.method = method || "POST";
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(API + path + query(params), init);
    if (!response.ok) {
      let message = response.status + " " + response.statusText;
      let param = null;
      try {
        const data = await response.json();
        if (data && data.error && data.error.message) message = data.error.message;
        if (data && data.error && typeof data.error.param === "string") param = data.error.param;
      } catch (_) { /* not JSON */ }
      throw new ApiError(response.status, message, param);
    }
    return accept === "text/csv" ? response.blob() : response.json();
  }

  function rangeParams(withFilters) {
    const params = { from: state.from, to: state.to };
    if (withFilters !== false) Object.assign(params, state.filters);
    return params;
  }

  // ---- sign-in -------------------------------------------------------------
  function showSignin(message) {
    stopTimers();
    $("#app").hidden = true;
    $("#signin").hidden = false;
    $("#signin-error").textContent = message || "";
    document.body.dataset.state = "signed-out";
    $("#signin-key").focus();
  }

  // A key is accepted when it reads analytics or manages keys. The page asked
  // for is tried first; a key that may only manage keys opens on the keys page.
  async function signIn(event) {
    event.preventDefault();
    const key = $("#signin-key").value.trim();
    if (!key) return;
    const button = $("#signin-submit");
    button.disabled = true;
    $("#signin-error").textContent = "";
    try {
      const today = todayUtc();
      const analytics = () => call("/analytics/summary", { params: { from: today, to: today }, key });
      const keys = () => call("/admin/keys", { key });
      const [first, second] = location.hash === "#keys" ? [keys, analytics] : [analytics, keys];
      try {
        await first();
      } catch (error) {
        if (error.status !== 403) throw error;
        await second();
        if (second === keys) history.replaceState(null, "", "#keys");
      }
      sessionStorage.setItem(STORAGE_KEY, key);
      $("#signin-key").value = "";
      start(key);
    } catch (error) {
      $("#signin-error").textContent = error.status === 401 || error.status === 403
        ? "That key or token was not accepted."
        : "Could not reach the gateway: " + error.message;
    } finally {
      button.disabled = false;
    }
  }

  function signOut(message) {
    sessionStorage.removeItem(STORAGE_KEY);
    state.key = null;
    for (const chart of Object.values(state.charts)) chart.destroy();
    state.charts = {};
    state.optionsFor = null;
    state.savingsLoaded = false;
    state.view = null;
    if (state.keys) state.keys.reset();
    if (state.promises) state.promises.reset();
    if (state.operator) state.operator.reset();
    showSignin(message);
  }

  function start(key) {
    state.key = key;
    state.savingsLoaded = false;
    $("#signin").hidden = true;
    $("#app").hidden = false;
    setPreset(state.preset);
    stopTimers();
    state.timers.push(setInterval(() => {
      if (!document.hidden && state.view === "savings" && state.to >= todayUtc()) load({ quiet: true });
    }, REFRESH_MS));
    state.timers.push(setInterval(() => {
      if (!document.hidden && state.view === "savings") loadRealtime().catch(() => {});
    }, REALTIME_MS));
    if (state.operator) state.operator.probe();
    route();
  }

  // ---- pages ---------------------------------------------------------------
  // Shows the page the URL's hash names (the savings page by default) and
  // loads it the first time.
  function route() {
    if (!state.key) return;
    const view = location.hash === "#keys" ? "keys" : location.hash === "#operator" ? "operator" : "savings";
    const changed = state.view !== view;
    state.view = view;
    for (const panel of $$("[data-view-panel]")) panel.hidden = panel.dataset.viewPanel !== view;
    for (const link of $$(".nav [data-view]")) {
      if (link.dataset.view === view) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    document.title = VIEWS[view] + " · LLM Gateway";
    document.body.dataset.view = view;
    if (view === "savings") {
      if (!state.savingsLoaded) {
        state.savingsLoaded = true;
        load();
        calculateRoi();
      }
    } else if (view === "operator") {
      if (state.operator) state.operator.show();
      if (changed && $("#operator-title")) $("#operator-title").focus();
    } else if (state.keys) {
      state.keys.show();
      if (changed) $("#keys-title").focus();
    }
  }

  function stopTimers() {
    for (const timer of state.timers) clearInterval(timer);
    state.timers = [];
  }

  // ---- controls ------------------------------------------------------------
  function setPreset(preset) {
    state.preset = preset;
    const [from, to] = presetRange(preset);
    setRange(from, to);
  }

  function setRange(from, to) {
    state.from = from;
    state.to = to;
    $("#range-from").value = from;
    $("#range-to").value = to;
    if (window.GatewayPromises) state.promises = window.GatewayPromises.create({ call, el, $, F });
    for (const button of $$(".controls [data-preset]")) {
      const [f, t] = presetRange(button.dataset.preset);
      button.classList.toggle("active", f === from && t === to);
    }
  }

  function applyCustomRange() {
    const from = $("#range-from").value;
    const to = $("#range-to").value;
    if (!from || !to) return;
    if (from > to) {
      showError("The start of the range is after its end.");
      return;
    }
    setRange(from, to);
    load();
  }

  function showError(message) {
    const banner = $("#error");
    banner.textContent = message || "";
    banner.hidden = !message;
  }

  // ---- loading -------------------------------------------------------------
  async function load(options) {
    const quiet = options && options.quiet;
    const seq = ++state.seq;
    const app = $("#app");
    if (!quiet) app.classList.add("loading");
    document.body.dataset.state = "loading";
    $("#status").textContent = "Loading…";
    $("#status").classList.remove("live");
    const monthStart = todayUtc().slice(0, 8) + "01";
    const optionsKey = state.from + ".." + state.to;
    try {
      const [summary, series, breakdown, providers, mix, month] = await Promise.all([
        call("/analytics/summary", { params: rangeParams() }),
        call("/analytics/timeseries", { params: Object.assign(rangeParams(), { interval: "day" }) }),
        call("/analytics/breakdown", { params: Object.assign(rangeParams(), { by: state.by }) }),
        call("/analytics/breakdown", { params: Object.assign(rangeParams(), { by: "provider" }) }),
        call("/analytics/routing-mix", { params: rangeParams() }),
        call("/analytics/summary", { params: Object.assign({}, state.filters, { from: monthStart, to: todayUtc() }) }),
        loadRealtime(),
        state.optionsFor === optionsKey ? null : loadFilterOptions(optionsKey),
      ]);
      if (seq !== state.seq) return;
      for (const table of $$("table.data")) table.dataset.expanded = "false";
      renderTiles(summary, mix, month);
      renderDaily(series);
      renderBreakdown(breakdown);
      renderProviders(providers);
      renderRouting(mix);
      renderReliability(summary, series);
      $("#tenant").textContent = summary.tenant || "";
      $("#range-label").textContent = "Range " + summary.from + " to " + summary.to + " (UTC days, both included)";
      showError("");
      const now = new Date();
      $("#status").textContent = "Updated " + now.toISOString().slice(11, 19) + " UTC";
      $("#status").classList.add("live");
      document.body.dataset.range = summary.from + "," + summary.to;
      document.body.dataset.state = "ready";
      document.body.dataset.loads = String(seq);
      if (state.promises) state.promises.load();
    } catch (error) {
      if (seq !== state.seq) return;
      if (error.status === 401) return signOut("Your key is no longer accepted; sign in again.");
      showError(error.status === 403
        ? "This key may not read analytics (" + error.message + "); its keys and budgets are on the Keys page."
        : "Could not load the figures: " + error.message);
      $("#status").textContent = "";
      document.body.dataset.state = "error";
    } finally {
      if (seq === state.seq) app.classList.remove("loading");
    }
  }

  async function loadFilterOptions(optionsKey) {
    const params = rangeParams(false);
    const dims = [["team", "team"], ["key", "key"], ["provider", "provider"], ["model", "routed_model"]];
    const answers = await Promise.all(dims.map(([, by]) => call("/analytics/breakdown", { params: Object.assign({}, params, { by }) })));
    dims.forEach(([filter, by], i) => {
      const select = $('select[data-filter="' + filter + '"]');
      const current = state.filters[filter];
      const names = answers[i].rows.map((row) => row[by]).filter((name) => name !== null && name !== "");
      if (current && !names.includes(current)) names.push(current);
      select.replaceChildren(el("option", { value: "" }, "All"), ...names.sort().map((name) => el("option", { value: name }, name)));
      select.value = current;
    });
    state.optionsFor = optionsKey;
  }

  async function loadRealtime() {
    const data = await call("/analytics/realtime");
    const today = data.today || {};
    const set = (name, text, raw) => {
      const node = $('[data-rt="' + name + '"]');
      node.textContent = text;
      if (raw !== undefined) node.dataset.value = raw;
    };
    set("requests", F.count(today.requests), today.requests);
    set("spend_usd", F.money(today.spend_usd), today.spend_usd);
    set("savings_usd", F.money(today.savings_usd), today.savings_usd);
    set("errors", F.count(today.errors), today.errors);
    const last = data.previous_minute || {};
    set("minute_requests", F.count(last.requests) + " req", last.requests);
    set("tokens", F.compactCount(Number(today.prompt_tokens || 0) + Number(today.completion_tokens || 0)));
    $("#realtime-note").textContent = data.day ? data.day + " (UTC) · live counters" : "live counters";
    return data;
  }

  // ---- rendering -----------------------------------------------------------
  function setTile(name, text, raw) {
    const node = $('[data-tile="' + name + '"]');
    node.textContent = text;
    node.dataset.value = raw === null || raw === undefined ? "" : String(raw);
    node.title = raw === null || raw === undefined ? "" : String(raw);
  }

  function renderTiles(summary, mix, month) {
    setTile("spend_usd", F.money(summary.spend_usd), summary.spend_usd);
    setTile("baseline_usd", F.money(summary.baseline_usd), summary.baseline_usd);
    setTile("savings_usd", F.money(summary.savings_usd), summary.savings_usd);
    setTile("savings_pct", F.percent(summary.savings_pct), summary.savings_pct);
    $("#tile-spend-sub").textContent = F.count(summary.requests) + " requests";
    const rate = mix.substitution_rate_pct;
    $("#tile-savings-sub").textContent = rate === null || rate === undefined
      ? "\u00a0"
      : F.percent(rate) + " of requests rerouted";
    const pct = Math.max(0, Math.min(100, Number(summary.savings_pct) || 0));
    $("#savings-meter").style.width = pct + "%";
    // Requests served by a model without a price: in no money figure above.
    const unpriced = Number(summary.unpriced_requests) || 0;
    const unpricedNote = $("#tile-unpriced");
    unpricedNote.dataset.value = String(unpriced);
    unpricedNote.classList.toggle("warn", unpriced > 0);
    unpricedNote.textContent = unpriced > 0
      ? F.count(unpriced) + " unpriced " + (unpriced === 1 ? "request" : "requests") + " not counted"
      : "every request priced";

    // Projection: month-to-date spend per elapsed day, times the month's days.
    const now = new Date();
    const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const monthDays = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate();
    const elapsed = Math.max((now.getTime() - monthStart) / 86400000, 1 / 24);
    const mtd = Number(month.spend_usd) || 0;
    const projected = (mtd / elapsed) * monthDays;
    setTile("projected_spend_usd", F.money(projected.toFixed(2)), projected.toFixed(2));
    const savedMtd = Number(month.savings_usd) || 0;
    $("#tile-projection-sub").textContent = F.money(month.spend_usd) + " so far · saving ~" + F.moneyShort((savedMtd / elapsed) * monthDays);
  }

  function chartDefaults() {
    const Chart = window.Chart;
    Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
    Chart.defaults.font.size = 12;
    Chart.defaults.color = "#64748b";
    Chart.defaults.animation.duration = 300;
  }

  function replaceChart(name, canvas, config) {
    if (state.charts[name]) state.charts[name].destroy();
    state.charts[name] = new window.Chart(canvas, config);
  }

  function renderDaily(series) {
    const points = series.points || [];
    const labels = points.map((p) => shortDay(p.period));
    const spend = points.map((p) => Number(p.spend_usd));
    const baseline = points.map((p) => Number(p.baseline_usd));
    replaceChart("daily", $("#chart-daily"), {
      type: "line",
      data: {
        labels,
        datasets: [
          {
            label: "Would have cost", data: baseline, borderColor: "#94a3b8", borderWidth: 2, borderDash: [5, 4],
            pointRadius: 0, pointHoverRadius: 4, tension: 0.3,
            fill: { target: 1, above: "rgba(16, 185, 129, 0.16)", below: "rgba(239, 68, 68, 0.12)" },
          },
          {
            label: "Spend", data: spend, borderColor: "#4f46e5", backgroundColor: "rgba(79, 70, 229, 0.10)", borderWidth: 2.5,
            pointRadius: 0, pointHoverRadius: 4, tension: 0.3, fill: "origin",
          },
        ],
      },
      options: {
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: (items) => {
                const day = points[items[0].dataIndex].period;
                return day === todayUtc() ? day + " (today, so far)" : day;
              },
              label: (item) => {
                const p = points[item.dataIndex];
                return item.datasetIndex === 0 ? " Would have cost " + F.money(p.baseline_usd) : " Spend " + F.money(p.spend_usd);
              },
              footer: (items) => {
                const p = points[items[0].dataIndex];
                return "Saved " + F.money(p.savings_usd) + " (" + F.percent(p.savings_pct) + ") · " + F.count(p.requests) + " requests";
              },
            },
          },
        },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 14 } },
          y: { beginAtZero: true, grid: { color: "#eef2f7" }, border: { display: false }, ticks: { callback: (v) => F.moneyShort(v) } },
        },
      },
    });
  }

  function nameCell(name) {
    return name === null || name === undefined || name === "" ? el("span", { class: "muted" }, "(none)") : name;
  }

  function emptyRow(columns, text) {
    return el("tr", null, el("td", { colspan: columns, class: "empty" }, text));
  }

  // Shows the first ROWS rows of a table body, with a button for the rest.
  const ROWS = 10;
  function fillTable(table, rows, columns) {
    const body = $("tbody", table);
    const expanded = table.dataset.expanded === "true";
    const shown = expanded ? rows : rows.slice(0, ROWS);
    const extra = [];
    if (rows.length > ROWS) {
      const button = el("button", { type: "button", class: "link" },
        expanded ? "Show the top " + ROWS : "Show all " + rows.length + " rows");
      button.addEventListener("click", () => {
        table.dataset.expanded = expanded ? "false" : "true";
        fillTable(table, rows, columns);
      });
      extra.push(el("tr", { class: "more" }, el("td", { colspan: columns }, button)));
    }
    body.replaceChildren(...shown, ...extra);
  }

  function renderBreakdown(data) {
    const by = data.by || state.by;
    $("#breakdown-dim").textContent = DIMENSION_LABELS[by] || by;
    for (const tab of $$("#breakdown-tabs [data-by]")) {
      tab.classList.toggle("active", tab.dataset.by === by);
      tab.setAttribute("aria-selected", tab.dataset.by === by ? "true" : "false");
    }
    const rows = data.rows || [];
    const max = Math.max(...rows.map((r) => Number(r.spend_usd) || 0), 0);
    const table = $("#breakdown");
    if (!rows.length) return $("tbody", table).replaceChildren(emptyRow(6, "No traffic in this range."));
    fillTable(table, rows.map((row) => {
      const width = max > 0 ? Math.max(1, (Number(row.spend_usd) / max) * 100) : 0;
      const saved = Number(row.savings_usd);
      return el("tr", null,
        el("td", { class: "name", title: row[by] || "" }, nameCell(row[by])),
        el("td", { class: "num" }, F.count(row.requests)),
        el("td", null, el("div", { class: "bar-cell" },
          el("div", { class: "bar", style: "width:" + (width * 0.6).toFixed(1) + "%" }),
          el("span", null, F.money(row.spend_usd)))),
        el("td", { class: "num muted" }, F.money(row.baseline_usd)),
        el("td", { class: "num" + (saved > 0 ? " good" : saved < 0 ? " bad" : "") }, F.money(row.savings_usd)),
        el("td", { class: "num" }, F.percent(row.savings_pct)));
    }), 6);
  }

  function renderProviders(data) {
    const rows = (data.rows || []).filter((r) => Number(r.spend_usd) > 0);
    const total = rows.reduce((sum, r) => sum + Number(r.spend_usd), 0);
    replaceChart("providers", $("#chart-providers"), {
      type: "doughnut",
      data: {
        labels: rows.map((r) => r.provider || "(none)"),
        datasets: [{ data: rows.map((r) => Number(r.spend_usd)), backgroundColor: rows.map((_, i) => PALETTE[i % PALETTE.length]), borderWidth: 2, borderColor: "#fff" }],
      },
      options: {
        maintainAspectRatio: false,
        cutout: "64%",
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (item) => " " + (rows[item.dataIndex].provider || "(none)") + ": " + F.money(rows[item.dataIndex].spend_usd) } },
        },
      },
    });
    const legend = $("#provider-legend");
    if (!rows.length) return legend.replaceChildren(el("li", { class: "muted" }, "No spend in this range."));
    legend.replaceChildren(...rows.map((r, i) => el("li", null,
      el("i", { class: "swatch", style: "background:" + PALETTE[i % PALETTE.length] }),
      nameCell(r.provider),
      el("span", { class: "amount" }, F.money(r.spend_usd)),
      el("span", { class: "pct" }, total > 0 ? ((Number(r.spend_usd) / total) * 100).toFixed(1) + "%" : "–"))));
  }

  function renderRouting(mix) {
    const routes = mix.routes || [];
    const table = $("#routing");
    if (!routes.length) return $("tbody", table).replaceChildren(emptyRow(8, "No traffic in this range."));
    fillTable(table, routes.map((r) => {
      const saved = Number(r.savings_usd);
      return el("tr", null,
        el("td", { class: "name", title: r.requested_model || "" }, nameCell(r.requested_model)),
        el("td", { class: "arrow" }, "→"),
        el("td", { class: "name", title: r.routed_model || "" },
          r.routed_model === null ? el("span", { class: "muted" }, "not routed") : r.routed_model),
        el("td", null, r.substituted ? el("span", { class: "chip saved" }, "rerouted") : el("span", { class: "chip same" }, "as asked")),
        el("td", { class: "num" }, F.count(r.requests)),
        el("td", { class: "num" }, F.percent(r.share_pct)),
        el("td", { class: "num" }, F.money(r.spend_usd)),
        el("td", { class: "num" + (saved > 0 ? " good" : saved < 0 ? " bad" : "") }, savedCell(r)));
    }), 8);
  }

  // A route's savings; requests served by a model without a price have none,
  // and say so instead of showing $0.00 for them.
  function savedCell(route) {
    const unpriced = Number(route.unpriced_requests) || 0;
    if (unpriced === 0) return F.money(route.savings_usd);
    const chip = el("span", { class: "chip unpriced", title: "Served by a model without a price: no known cost, so no savings" },
      F.count(unpriced) + " unpriced");
    return unpriced >= Number(route.requests) ? chip : [F.money(route.savings_usd), " ", chip];
  }

  function renderReliability(summary, series) {
    const set = (name, text, raw) => {
      const node = $('[data-rel="' + name + '"]');
      node.textContent = text;
      node.dataset.value = raw === null || raw === undefined ? "" : String(raw);
    };
    set("requests", F.count(summary.requests), summary.requests);
    set("error_rate_pct", F.percent(summary.error_rate_pct), summary.error_rate_pct);
    // Share of requests that needed more than one provider attempt.
    set("failover_rate_pct", F.percent(summary.failover_rate_pct), summary.failover_rate_pct);
    set("latency_p50_ms", F.ms(summary.latency_p50_ms), summary.latency_p50_ms);
    set("latency_p95_ms", F.ms(summary.latency_p95_ms), summary.latency_p95_ms);
    set("tokens", F.compactCount(Number(summary.prompt_tokens || 0) + Number(summary.completion_tokens || 0)));
    const points = series.points || [];
    replaceChart("errors", $("#chart-errors"), {
      type: "bar",
      data: {
        labels: points.map((p) => shortDay(p.period)),
        datasets: [{ label: "Error rate", data: points.map((p) => Number(p.error_rate_pct) || 0), backgroundColor: "rgba(220, 38, 38, 0.55)", borderRadius: 3, maxBarThickness: 10 }],
      },
      options: {
        maintainAspectRatio: false,
        plugins: { legend: { display: false }, tooltip: { callbacks: { title: (i) => points[i[0].dataIndex].period, label: (i) => " errors " + F.percent(points[i.dataIndex].error_rate_pct) + " of " + F.count(points[i.dataIndex].requests) } } },
        scales: {
          x: { display: false },
          y: { beginAtZero: true, grid: { color: "#f1f5f9" }, border: { display: false }, ticks: { maxTicksLimit: 3, callback: (v) => v + "%" } },
        },
      },
    });
  }

  // ---- ROI -----------------------------------------------------------------
  async function calculateRoi(event) {
    if (event) event.preventDefault();
    const seats = Number($("#roi-seats").value);
    const price = $("#roi-price").value.trim();
    const days = Number($("#roi-days").value);
    $("#roi-error").textContent = "";
    try {
      const report = await call("/roi", { body: { mode: "measured", seats, price_per_seat: price, days } });
      for (const node of $$("[data-roi]")) {
        const name = node.dataset.roi;
        const raw = report[name];
        node.dataset.value = raw === null || raw === undefined ? "" : String(raw);
        if (name === "roi_percent") node.textContent = raw === null ? "–" : F.percent(raw);
        else if (name === "payback_days") {
          node.textContent = raw !== null ? raw + " days" : Number(report.platform_fee) === 0 ? "–" : "never";
        }
        else node.textContent = F.money(raw);
        if (name === "net_monthly_savings" || name === "annual_net_savings") {
          node.classList.toggle("good", Number(raw) >= 0);
          node.classList.toggle("bad", Number(raw) < 0);
        }
      }
      const m = report.measured;
      const unpriced = m && Number(m.unpriced_requests) > 0
        ? " " + F.count(m.unpriced_requests) + " of them were unpriced (a model without a price) and are in neither cost."
        : "";
      $("#roi-note").textContent = m
        ? "Measured over " + m.from + " to " + m.to + " (" + F.count(m.requests) + " requests), scaled to a month." + unpriced
        : "";
    } catch (error) {
      if (error.status === 401) return signOut("Your key is no longer accepted; sign in again.");
      $("#roi-error").textContent = error.message;
    }
  }

  // ---- CSV -----------------------------------------------------------------
  async function downloadCsv(event) {
    event.preventDefault();
    try {
      const blob = await call("/analytics/breakdown", { params: Object.assign(rangeParams(), { by: state.by, format: "csv" }), accept: "text/csv" });
      const url = URL.createObjectURL(blob);
      const link = el("a", { href: url, download: "breakdown-" + state.by + "-" + state.from + "-" + state.to + ".csv" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (error) {
      showError("CSV export failed: " + error.message);
    }
  }

  // ---- wiring --------------------------------------------------------------
  function init() {
    chartDefaults();
    $("#signin-form").addEventListener("submit", signIn);
    $("#signout").addEventListener("click", () => signOut(""));
    $("#refresh").addEventListener("click", () => {
      if (state.view === "keys") return state.keys && state.keys.refresh();
      if (state.view === "operator") return state.operator && state.operator.refresh();
      state.optionsFor = null;
      load();
      loadRealtime().catch(() => {});
    });
    window.addEventListener("hashchange", route);
    if (window.GatewayKeys) {
      state.keys = window.GatewayKeys.create({
        call, el, $, $$, F,
        signOut: () => signOut("Your key is no longer accepted; sign in again."),
      });
    }
    if (window.GatewayOperator) {
      state.operator = window.GatewayOperator.create({
        call, el, $, $$, F,
        signOut: () => signOut("Your key is no longer accepted; sign in again."),
      });
    }
    if (window.GatewayShares) {
      // The view a new share link starts from: this page's range and filters.
      const page = () => {
        const [from, to] = presetRange(state.preset);
        const preset = from === state.from && to === state.to ? state.preset : null;
        return { from: state.from, to: state.to, preset, filters: state.filters };
      };
      state.shares = window.GatewayShares.create({ call, el, $, page });
    }
    for (const button of $$(".controls [data-preset]")) {
      button.addEventListener("click", () => { setPreset(button.dataset.preset); load(); });
    }
    $("#range-apply").addEventListener("click", applyCustomRange);
    for (const input of [$("#range-from"), $("#range-to")]) {
      input.addEventListener("keydown", (e) => { if (e.key === "Enter") applyCustomRange(); });
    }
    for (const select of $$("select[data-filter]")) {
      select.addEventListener("change", () => { state.filters[select.dataset.filter] = select.value; load(); });
    }
    for (const tab of $$("#breakdown-tabs [data-by]")) {
      tab.addEventListener("click", async () => {
        state.by = tab.dataset.by;
        try {
          renderBreakdown(await call("/analytics/breakdown", { params: Object.assign(rangeParams(), { by: state.by }) }));
        } catch (error) {
          showError("Could not load the breakdown: " + error.message);
        }
      });
    }
    $("#roi-form").addEventListener("submit", calculateRoi);
    $("#csv-link").addEventListener("click", downloadCsv);
    const key = sessionStorage.getItem(STORAGE_KEY);
    if (key) start(key);
    else showSignin("");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
