// The "Promised vs achieved" panel of the savings page: the ROI scenario the
// tenant was promised at signing against what its recorded traffic saved, one
// table row per month and a small chart, from GET /api/v1/roi/achievement.
//
// What belongs here: that panel only. The shell (sign-in, the API call, page
// loads) is app.js, which hands its helpers to `create`, calls `load` after
// each load of the savings page and `reset` at sign-out. The panel stays hidden when the tenant
// has no promise, or when the key may not read it (a key that reads only its
// team's analytics).
//
// It computes nothing: every figure is the API's decimal text, rounded for
// display only (format.js); a month the API marks incomplete says why.
(function () {
  "use strict";

  const REASONS = {
    month_in_progress: "month in progress",
    before_first_traffic: "before the first traffic",
    first_traffic_mid_month: "traffic began mid-month",
    unpriced_requests: "unpriced requests (savings unknown)",
  };

  function monthLabel(month) {
    const d = new Date(month + "-01T00:00:00Z");
    return isNaN(d.getTime())
      ? month
      : d.toLocaleDateString("en-US", { month: "short", year: "numeric", timeZone: "UTC" });
  }

  function create(ctx) {
    const { call, el, $, F } = ctx;
    let seq = 0;
    let chart = null;

    function cell(field, raw, text, cls) {
      return el("td", { class: cls, "data-field": field, "data-value": raw === null ? "" : raw }, text);
    }

    function row(m) {
      const status = m.complete
        ? "complete"
        : m.incomplete_reasons.map((r) => REASONS[r] || r).join(", ");
      return el("tr", { "data-month": m.month, "data-complete": String(m.complete) },
        el("td", null, monthLabel(m.month)),
        cell("promised_gross_usd", m.promised_gross_usd, F.money(m.promised_gross_usd), "num"),
        cell("measured_savings_usd", m.measured_savings_usd, F.money(m.measured_savings_usd), "num good"),
        cell("achievement_pct", m.achievement_pct, F.percent(m.achievement_pct), "num"),
        cell("achieved_net_usd", m.achieved_net_usd, F.money(m.achieved_net_usd), "num"),
        el("td", { class: m.complete ? "muted" : "warn-text", "data-field": "status" }, status));
    }

    function stat(name, label, raw, text, cls) {
      return el("div", null, el("dt", null, label),
        el("dd", { class: cls, "data-promise": name, "data-value": raw === null ? "" : raw }, text));
    }

    function render(panel, data) {
      const p = data.promise;
      const canvas = el("canvas", { id: "chart-promise", "aria-label": "Promised and measured savings per month" });
      const head = el("header", { class: "card-head" },
        el("div", null,
          el("h2", null, "Promised vs achieved"),
          el("p", { class: "muted" },
            "Promise v" + p.version + " from " + monthLabel(p.start_month) + ": " +
            F.money(p.promised_gross_monthly_usd) + " a month gross, fee " + F.money(p.fee_monthly_usd) +
            ". Measured savings count priced requests only.")));
      const stats = el("dl", { class: "stats" },
        stat("to_date_measured_usd", "Saved to date", data.to_date_measured_usd, F.money(data.to_date_measured_usd), "good"),
        stat("to_date_promised_usd", "Promised to date", data.to_date_promised_usd, F.money(data.to_date_promised_usd)),
        stat("to_date_achievement_pct", "Achieved", data.to_date_achievement_pct, F.percent(data.to_date_achievement_pct)),
        stat("projected_year_savings_usd", "Year projected / promised", data.projected_year_savings_usd,
          (data.projection_basis_months ? F.moneyShort(data.projected_year_savings_usd) : "–") +
          " / " + F.moneyShort(data.promised_year_savings_usd)));
      const note = data.projection_basis_months
        ? "The year is projected from " + data.projection_basis_months + " complete month" +
          (data.projection_basis_months === 1 ? "" : "s") + " (their average for each other month of the first 12)."
        : "No complete month yet: nothing to project the year from.";
      const table = el("table", { class: "data", id: "promise-months" },
        el("thead", null, el("tr", null,
          el("th", null, "Month"), el("th", { class: "num" }, "Promised"), el("th", { class: "num" }, "Measured"),
          el("th", { class: "num" }, "Achieved"), el("th", { class: "num" }, "Net of fee"), el("th", null, "Data"))),
        el("tbody", null, data.months.map(row)));
      panel.replaceChildren(el("article", { class: "card span-3" },
        head,
        el("div", { class: "chart short" }, canvas),
        stats,
        el("div", { class: "table-wrap" }, table),
        el("p", { class: "muted small-note" }, note)));
      drawChart(canvas, data.months);
    }

    function drawChart(canvas, months) {
      if (chart) chart.destroy();
      chart = null;
      if (!window.Chart) return;
      chart = new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: months.map((m) => monthLabel(m.month)),
          datasets: [
            { label: "Promised", data: months.map((m) => Number(m.promised_gross_usd)), backgroundColor: "#cbd5e1" },
            { label: "Measured", data: months.map((m) => Number(m.measured_savings_usd)), backgroundColor: "#059669" },
          ],
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { position: "bottom" } },
          scales: { y: { ticks: { callback: (v) => F.moneyShort(v) } } },
        },
      });
    }

    async function load() {
      const panel = $("#promise-panel");
      if (!panel) return;
      const mine = ++seq;
      let data = null;
      try {
        // A key scoped to its team's or its own figures is refused the
        // tenant's ROI: ask what it may read instead of being refused.
        const access = await call("/operator/access");
        data = access && access.tenant_figures ? await call("/roi/achievement") : null;
      } catch (_) {
        data = null;
      }
      if (mine !== seq) return;
      if (!data || !data.promise) {
        panel.hidden = true;
        panel.dataset.state = data ? "none" : "unavailable";
        return;
      }
      render(panel, data);
      panel.hidden = false;
      panel.dataset.state = "ready";
    }

    // Signed out: nothing of this tenant's may stay on the page.
    function reset() {
      seq++;
      if (chart) chart.destroy();
      chart = null;
      const panel = $("#promise-panel");
      if (!panel) return;
      panel.replaceChildren();
      panel.hidden = true;
      delete panel.dataset.state;
    }

    return { load, reset };
  }

  window.GatewayPromises = { create };
})();
