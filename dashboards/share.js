// The shared read-only view (/share/{token}): reads /share/{token}/data (the
// analytics API's own figures for the link's view) and shows its panels, and
// when it was generated. No key: the token in the address is the credential.
// A password link asks for its password and sends it in a header (never in
// the address); it is kept in this page's memory only.
//
// Money is shown through format.js (the API's exact decimal strings, rounded
// for display only); each tile keeps the API's string in `data-value`.
(function () {
  "use strict";

  const F = window.GatewayFormat;
  const $ = (selector) => document.querySelector(selector);
  const base = location.pathname.replace(/\/+$/, "");
  let password = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const TILES = [
    ["spend_usd", "Spend", F.money, ""],
    ["baseline_usd", "Would have cost", F.money, ""],
    ["savings_usd", "Saved", F.money, "accent"],
    ["savings_pct", "Saved %", F.percent, "accent"],
    ["requests", "Requests", F.count, ""],
  ];

  function tiles(summary) {
    const section = $("#share-tiles");
    section.replaceChildren(...TILES.map(([name, title, format, extra]) => el("article", { class: "tile " + extra },
      el("h3", {}, title),
      el("div", { class: "value", "data-tile": name, "data-value": summary[name] === null ? "" : String(summary[name]) }, format(summary[name])))));
    section.hidden = false;
  }

  function chart(series) {
    $("#share-chart").hidden = false;
    if (!window.Chart) return;
    const points = series.points || [];
    new window.Chart($("#share-canvas"), {
      type: "line",
      data: {
        labels: points.map((p) => p.period),
        datasets: [
          { label: "Would have cost", data: points.map((p) => Number(p.baseline_usd)), borderColor: "#94a3b8", tension: 0.25 },
          { label: "Spend", data: points.map((p) => Number(p.spend_usd)), borderColor: "#4f46e5", tension: 0.25 },
        ],
      },
      options: { animation: false, maintainAspectRatio: false, scales: { y: { ticks: { callback: (v) => F.moneyShort(v) } } } },
    });
  }

  // A breakdown panel: one row per value of its dimension.
  function table(id, title, answer, dimension, first) {
    const rows = answer.rows || answer.routes || [];
    const head = [first, "Requests", "Spend", "Would have cost", "Saved", "Saved %"];
    const body = rows.map((row) => el("tr", {},
      el("td", { class: "name" }, dimension(row)),
      el("td", { class: "num" }, F.count(row.requests)),
      el("td", { class: "num", "data-value": row.spend_usd }, F.money(row.spend_usd)),
      el("td", { class: "num" }, F.money(row.baseline_usd)),
      el("td", { class: "num" }, F.money(row.savings_usd)),
      el("td", { class: "num" }, F.percent(row.savings_pct))));
    if (!rows.length) body.push(el("tr", {}, el("td", { colspan: "6", class: "empty" }, "No traffic in this range.")));
    return el("article", { class: "card span-3", id: "share-panel-" + id },
      el("header", { class: "card-head" }, el("div", {}, el("h2", {}, title))),
      el("div", { class: "table-wrap" }, el("table", { class: "data" },
        el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { class: i ? "num" : "" }, h)))),
        el("tbody", {}, body))));
  }

  function render(data) {
    const label = data.label || "Shared savings";
    document.title = label + " · LLM Gateway";
    $("#share-label").textContent = label;
    $("#share-generated").textContent = "Generated at " + data.generated_at.replace("T", " ").replace("Z", " UTC");
    $("#share-generated").dataset.generated = data.generated_at;
    const filters = Object.entries(data.view.filters || {}).map(([k, v]) => k + " = " + v);
    $("#share-range").textContent = data.from + " to " + data.to + " (UTC)" + (filters.length ? " · " + filters.join(", ") : "");
    const p = data.panels;
    if (p.tiles) tiles(p.tiles);
    if (p.timeseries) chart(p.timeseries);
    const tables = [];
    const name = (field) => (row) => row[field] === null ? "(none)" : row[field];
    if (p.models) tables.push(table("models", "By model", p.models, name("requested_model"), "Model"));
    if (p.providers) tables.push(table("providers", "By provider", p.providers, name("provider"), "Provider"));
    if (p.teams) tables.push(table("teams", "By team", p.teams, name("team"), "Team"));
    if (p.keys) tables.push(table("keys", "By key", p.keys, name("key"), "Key"));
    if (p.routing_mix) {
      tables.push(table("routing_mix", "Routing mix", p.routing_mix,
        (row) => (row.requested_model || "(none)") + " → " + (row.routed_model || "(not served)"), "Asked for → served by"));
    }
    $("#share-tables").replaceChildren(...tables);
    $("#share-password-form").hidden = true;
    $("#share-view").hidden = false;
    document.body.dataset.state = "ready";
  }

  function fail(message) {
    const banner = $("#share-error");
    banner.textContent = message;
    banner.hidden = false;
    document.body.dataset.state = "error";
  }

  async function load() {
    const headers = { Accept: "application/json" };
    if (password !== null) headers["x-share-password"] = password;
    let response;
    try {
      response = await fetch(base + "/data", { headers, cache: "no-store", credentials: "omit" });
    } catch (error) {
      return fail("The gateway could not be reached: " + error.message);
    }
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    if (response.ok && body) return render(body);
    const error = (body && body.error) || {};
    if (response.status === 401) {
      $("#share-password-form").hidden = false;
      $("#share-password-error").textContent = error.code === "wrong_password" ? "That password is not correct." : "";
      document.body.dataset.state = "password";
      $("#share-password").focus();
      return;
    }
    fail(error.message || response.status + " " + response.statusText);
  }

  function init() {
    $("#share-password-form").addEventListener("submit", (event) => {
      event.preventDefault();
      password = $("#share-password").value;
      $("#share-password").value = "";
      load();
    });
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
