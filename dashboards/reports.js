// The report download on the savings page: a "Download PDF report" control
// that fetches GET /api/v1/reports/{period}.pdf with the signed-in key and
// saves the file. The period is a recent ISO week (Monday to Sunday) or
// calendar month, of UTC days as the reports count them; the current one
// reads to date. The PDF is the one the scheduled e-mails describe, with the
// same figures as the API's JSON report.
//
// What belongs here: that control only. It reads the key where the shell
// (app.js) keeps it, in this tab's sessionStorage, and builds its elements in
// the `#report-download` placeholder of index.html. Errors show the API's
// message as text.
(function () {
  "use strict";

  const STORAGE_KEY = "gateway.dashboard.key";
  const WEEKS = 8;
  const MONTHS = 12;

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  // The ISO week of a UTC date: its year and number.
  function isoWeek(date) {
    const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
    const day = d.getUTCDay() || 7;
    d.setUTCDate(d.getUTCDate() + 4 - day);
    const yearStart = new Date(Date.UTC(d.getUTCFullYear(), 0, 1));
    return { year: d.getUTCFullYear(), week: Math.ceil(((d - yearStart) / 86400000 + 1) / 7) };
  }

  // The periods offered, newest first: [{ value, label }].
  function periods(kind, today) {
    const list = [];
    if (kind === "week") {
      for (let i = 0; i < WEEKS; i++) {
        const day = new Date(today.getTime() - i * 7 * 86400000);
        const { year, week } = isoWeek(day);
        const value = `${year}-W${pad(week)}`;
        list.push({ value, label: i === 0 ? `${value} (to date)` : value });
      }
    } else {
      for (let i = 0; i < MONTHS; i++) {
        const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - i, 1));
        const value = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`;
        list.push({ value, label: i === 0 ? `${value} (to date)` : value });
      }
    }
    return list;
  }

  function option(value, label) {
    const node = document.createElement("option");
    node.value = value;
    node.textContent = label;
    return node;
  }

  function fill(select, kind) {
    const list = periods(kind, new Date());
    select.replaceChildren(...list.map((p) => option(p.value, p.label)));
    // The last complete period by default.
    if (list.length > 1) select.value = list[1].value;
  }

  async function download(period, status, button) {
    const key = sessionStorage.getItem(STORAGE_KEY);
    if (!key) return;
    button.disabled = true;
    status.textContent = "Preparing…";
    try {
      const response = await fetch(`/api/v1/reports/${encodeURIComponent(period)}.pdf`, {
        headers: { Authorization: "Bearer " + key, Accept: "application/pdf" },
        cache: "no-store",
        credentials: "omit",
      });
      if (!response.ok) {
        let message = `${response.status} ${response.statusText}`;
        try {
          const data = await response.json();
          if (data && data.error && data.error.message) message = data.error.message;
        } catch (_) { /* not JSON */ }
        throw new Error(message);
      }
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = `report-${period}.pdf`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      status.textContent = "Downloaded";
    } catch (error) {
      status.textContent = String(error.message || error);
    } finally {
      button.disabled = false;
    }
  }

  function build() {
    const host = document.getElementById("report-download");
    if (!host || host.dataset.built) return;
    host.dataset.built = "1";
    const kind = document.createElement("select");
    kind.id = "report-kind";
    kind.setAttribute("aria-label", "Report period kind");
    kind.append(option("week", "Week"), option("month", "Month"));
    const period = document.createElement("select");
    period.id = "report-period";
    period.setAttribute("aria-label", "Report period");
    fill(period, "week");
    kind.addEventListener("change", () => fill(period, kind.value));
    const button = document.createElement("button");
    button.type = "button";
    button.id = "report-pdf";
    button.className = "small";
    button.textContent = "Download PDF report";
    const status = document.createElement("span");
    status.id = "report-status";
    status.className = "muted";
    status.setAttribute("role", "status");
    button.addEventListener("click", () => download(period.value, status, button));
    const label = document.createElement("label");
    label.className = "field";
    label.append("Report ", kind, period);
    host.append(label, button, status);
  }

  if (typeof module !== "undefined") {
    // Node (the browser test) reads the pure parts.
    module.exports = { periods, isoWeek };
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", build);
  } else {
    build();
  }
})();
