// The operator page (#operator): every tenant on one list, for the people who
// run the gateway (admin keys: GET /api/v1/operator/access says whether to show
// the tab; the list itself answers any other key with a 403). Reads GET /api/v1/admin/operator/tenants:
// the 7/30-day switch, sorting (click a column header; again to reverse), the
// filter box (tenant id or name) and the flag filter are the API's own
// parameters, so the table and its CSV download always hold the same rows in
// the same order.
//
// What belongs here: that page only. The shell (sign-in, the API call, page
// switching) is app.js, which hands its helpers to `create`. Figures arrive as
// the API's text (money as exact decimals) and are shown through format.js;
// names from the data go in as text, never as HTML. Its styles are
// operator.css (the page's CSP allows no inline style).
(function () {
  "use strict";

  const PATH = "/admin/operator/tenants";
  // Column, header, how a cell is shown, which trend (if any) it carries.
  const COLUMNS = [
    { key: "tenant", label: "Tenant", kind: "tenant" },
    { key: "health_score", label: "Health", kind: "health" },
    { key: "spend_usd", label: "Spend", kind: "money", trend: true },
    { key: "savings_usd", label: "Saved", kind: "money", trend: true },
    { key: "savings_pct", label: "Saved %", kind: "pct", trend: true },
    { key: "requests", label: "Requests", kind: "count", trend: true },
    { key: "error_rate_pct", label: "Error rate", kind: "pct", trend: true },
    { key: "active_keys", label: "Active keys", kind: "count", trend: true },
    { key: "keys", label: "Keys", kind: "count" },
    { key: "adoption_pct", label: "Adoption (7 d)", kind: "pct" },
    { key: "teams", label: "Teams", kind: "count", trend: true },
    { key: "flags", label: "Flags", kind: "flags", unsorted: true },
  ];
  const ARROWS = { up: "▲", down: "▼", flat: "▬" };
  const FLAG_TEXT = { churn_risk: "Churn risk", expansion: "Expansion" };

  function create(ctx) {
    const { call, el, $, $$, F } = ctx;
    const state = { days: "30", sort: "spend_usd", order: "desc", q: "", flag: "", seq: 0, built: false, timer: null };

    function nav() {
      return $(".nav [data-view=operator]");
    }

    // ---- the page's elements, made once --------------------------------------
    function build() {
      if (state.built) return;
      state.built = true;
      const panel = $("#view-operator");
      const days = el("div", { class: "segmented", role: "group", "aria-label": "Period" },
        el("button", { type: "button", "data-days": "7" }, "7 days"),
        el("button", { type: "button", "data-days": "30" }, "30 days"));
      const flag = el("select", { id: "operator-flag", "aria-label": "Flag" },
        el("option", { value: "" }, "All tenants"),
        el("option", { value: "churn_risk" }, "Churn risk"),
        el("option", { value: "expansion" }, "Expansion"));
      const head = el("tr", {}, COLUMNS.map((c) => c.unsorted
        ? el("th", { scope: "col" }, c.label)
        : el("th", { scope: "col", "data-sort": c.key }, el("button", { type: "button" }, c.label))));
      panel.append(
        el("section", { class: "controls", "aria-label": "Operator view" },
          el("h1", { id: "operator-title", class: "view-title", tabindex: "-1" }, "Tenants"),
          days,
          el("label", { class: "field" }, "Filter ", el("input", { id: "operator-q", type: "search", placeholder: "tenant or name", spellcheck: "false", autocomplete: "off" })),
          el("label", { class: "field" }, "Flag ", flag),
          el("div", { class: "grow" }),
          el("button", { id: "operator-csv", type: "button", class: "small" }, "Download CSV")),
        el("p", { id: "operator-error", class: "banner error", role: "alert", hidden: true }),
        el("section", { class: "card op-card" },
          el("p", { id: "operator-note", class: "muted small-note" }),
          el("div", { class: "table-wrap" },
            el("table", { class: "data op-table", id: "operator-table" },
              el("thead", {}, head), el("tbody", {})))));
      for (const button of $$("[data-days]", panel)) {
        button.addEventListener("click", () => { state.days = button.dataset.days; load(); });
      }
      for (const th of $$("th[data-sort]", panel)) {
        th.querySelector("button").addEventListener("click", () => sortBy(th.dataset.sort));
      }
      $("#operator-q").addEventListener("input", (event) => {
        clearTimeout(state.timer);
        state.timer = setTimeout(() => { state.q = event.target.value.trim(); load(); }, 250);
      });
      flag.addEventListener("change", () => { state.flag = flag.value; load(); });
      $("#operator-csv").addEventListener("click", download);
    }

    // A new column sorts its natural way (names A-Z, figures high to low); the
    // same column again reverses.
    function sortBy(column) {
      if (state.sort === column) state.order = state.order === "asc" ? "desc" : "asc";
      else {
        state.sort = column;
        state.order = column === "tenant" ? "asc" : "desc";
      }
      load();
    }

    function params(extra) {
      const p = { days: state.days, sort: state.sort, order: state.order };
      if (state.q) p.q = state.q;
      if (state.flag) p.flag = state.flag;
      return Object.assign(p, extra || {});
    }

    function showError(message) {
      const banner = $("#operator-error");
      banner.textContent = message || "";
      banner.hidden = !message;
    }

    // ---- the table --------------------------------------------------------------
    function trend(row, column) {
      const t = row.trend && row.trend[column.key];
      if (!t) return null;
      const before = column.kind === "money" ? F.money(t.previous) : column.kind === "pct" ? F.percent(t.previous) : F.count(t.previous);
      return el("span", { class: "op-trend " + t.direction, "data-trend": t.direction, title: "previous " + state.days + " days: " + before }, ARROWS[t.direction] || "");
    }

    function cell(row, column) {
      const value = row[column.key];
      switch (column.kind) {
        case "tenant":
          return [el("span", { class: "op-tenant" }, value), row.name ? el("span", { class: "op-name" }, row.name) : null];
        case "health": {
          const level = value >= 70 ? "high" : value >= 40 ? "mid" : "low";
          const h = row.health || {};
          const title = "adoption " + F.percent(h.adoption_pct) + ", achievement " + F.percent(h.achievement_pct) +
            ", reliability " + F.percent(h.reliability_pct) + ", usage " + F.percent(h.usage_pct);
          return el("span", { class: "op-health " + level, title }, value);
        }
        case "money":
          return el("span", { title: value + " USD" }, F.money(value));
        case "pct":
          return F.percent(value);
        case "flags":
          return (value || []).map((flag) => el("span", {
            class: "op-badge " + flag,
            "data-flag": flag,
            title: flag === "expansion" ? (row.expansion_reasons || []).join(", ") : "requests of the last 14 days down 30% or more",
          }, FLAG_TEXT[flag] || flag));
        default:
          return F.count(value);
      }
    }

    function render(answer) {
      const tbody = $("#operator-table tbody");
      tbody.replaceChildren(...answer.data.map((row) => el("tr", { "data-tenant": row.tenant },
        COLUMNS.map((column) => el("td", { "data-col": column.key }, cell(row, column), column.trend ? trend(row, column) : null)))));
      if (!answer.data.length) {
        tbody.append(el("tr", {}, el("td", { colspan: COLUMNS.length, class: "muted" }, "No tenant matches.")));
      }
      for (const th of $$("#operator-table th[data-sort]")) {
        if (th.dataset.sort === answer.sort) th.setAttribute("aria-sort", answer.order === "asc" ? "ascending" : "descending");
        else th.removeAttribute("aria-sort");
      }
      for (const button of $$("#view-operator [data-days]")) button.classList.toggle("active", button.dataset.days === String(answer.days));
      $("#operator-note").textContent = answer.data.length + " tenants · last " + answer.days + " days to " + answer.as_of +
        " (UTC) · trends against the " + answer.days + " days before · from the daily rollups, up to 30 s old";
      $("#view-operator").dataset.state = "loaded";
    }

    async function load() {
      const seq = ++state.seq;
      $("#view-operator").dataset.state = "loading";
      try {
        const answer = await call(PATH, { params: params() });
        if (seq !== state.seq) return;
        showError("");
        render(answer);
      } catch (error) {
        if (seq !== state.seq) return;
        if (error.status === 401) return ctx.signOut();
        showError(error.status === 403
          ? "Only an admin key may see every tenant (" + error.message + ")."
          : "Could not load the tenants: " + error.message);
        $("#view-operator").dataset.state = "error";
      }
    }

    async function download() {
      try {
        const blob = await call(PATH, { params: params({ format: "csv" }), accept: "text/csv" });
        const url = URL.createObjectURL(blob);
        const link = el("a", { href: url, download: "operator-tenants-" + state.days + "d.csv" });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
      } catch (error) {
        showError("CSV export failed: " + error.message);
      }
    }

    // ---- what app.js calls --------------------------------------------------------
    // Shows the tab when the signed-in key may read the view.
    async function probe() {
      const link = nav();
      if (!link) return;
      try {
        const access = await call("/operator/access");
        link.hidden = !(access && access.operator === true);
      } catch (_) {
        link.hidden = true;
      }
    }

    function show() {
      build();
      load();
    }

    function reset() {
      state.seq++;
      const link = nav();
      if (link) link.hidden = true;
      if (state.built) $("#operator-table tbody").replaceChildren();
    }

    return { probe, show, reset, refresh: load };
  }

  window.GatewayOperator = { create };
})();
