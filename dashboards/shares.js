// Share links on the savings page: a "Share" button (for tenant owners; an
// admin key is told to use the API with a tenant) opens a dialog to make a
// read-only link of a view (a preset or fixed days, the page's filters, which
// panels, an expiry, an optional password). The new link is shown once, with
// a Copy button and embed snippets; below, the tenant's links with their
// views, and Revoke.
//
// What belongs here: that dialog only. The shell (sign-in, the API call, the
// page's range and filters) is app.js, which hands its helpers to `create`.
// The link's token lives only in the open dialog: never in storage.
(function () {
  "use strict";

  const PANELS = [
    ["tiles", "Headline figures", true],
    ["timeseries", "Daily spend chart", true],
    ["models", "By model", true],
    ["providers", "By provider", true],
    ["routing_mix", "Routing mix", true],
    ["teams", "By team (shows team names)", false],
    ["keys", "By key (shows key ids)", false],
  ];
  const PRESETS = [
    ["last_7_days", "Last 7 days"],
    ["last_30_days", "Last 30 days"],
    ["month_to_date", "This month"],
    ["last_month", "Last month"],
    ["fixed", "Fixed dates"],
  ];

  function create(ctx) {
    const { call, el, $, page } = ctx;
    let dialog = null;

    function field(label, input) {
      return el("label", { class: "stack" }, label, input);
    }

    function build() {
      const preset = el("select", { id: "share-preset" },
        PRESETS.map(([value, text]) => el("option", { value }, text)));
      const from = el("input", { id: "share-from", type: "date" });
      const to = el("input", { id: "share-to", type: "date" });
      const fixed = el("div", { id: "share-fixed", class: "form-grid", hidden: true },
        field("From", from), field("To", to));
      preset.addEventListener("change", () => { fixed.hidden = preset.value !== "fixed"; });
      const panels = el("fieldset", { id: "share-panels", class: "share-panels" }, el("legend", {}, "Panels"),
        PANELS.map(([name, text, on]) => el("label", { class: "check" },
          el("input", { type: "checkbox", name, checked: on }), text)));
      dialog = el("dialog", { id: "share-dialog", class: "modal", "aria-labelledby": "share-title" },
        el("form", { id: "share-form", class: "modal-body", novalidate: true },
          el("h2", { id: "share-title" }, "Share a read-only link"),
          el("p", { class: "muted small-note" }, "Anyone with the link sees this view and nothing else of your tenant, until it expires or you revoke it. No key is needed to open it."),
          el("div", { class: "form-grid" },
            field("Label", el("input", { id: "share-label", type: "text", maxlength: "200", placeholder: "e.g. Q4 savings for finance" })),
            field("Date range", preset),
            field("Expires in (days)", el("input", { id: "share-days", type: "number", min: "1", max: "365", value: "30" })),
            field("Password (optional, 8+ characters)", el("input", { id: "share-password", type: "password", autocomplete: "new-password" }))),
          fixed,
          el("p", { id: "share-filters", class: "muted small-note" }),
          panels,
          el("p", { id: "share-error", class: "error", role: "alert" }),
          el("div", { id: "share-made", hidden: true },
            el("p", { class: "warning" }, "Copy the link now: it is shown only this once."),
            el("span", { class: "copy-row" },
              el("input", { id: "share-url", type: "text", readonly: true, spellcheck: "false" }),
              el("button", { id: "share-copy", type: "button", class: "primary" }, "Copy")),
            el("p", { class: "muted small-note" }, "Embed (for a wiki):"),
            el("input", { id: "share-embed", type: "text", readonly: true, spellcheck: "false" }),
            el("p", { id: "share-copied", class: "muted small-note", role: "status", "aria-live": "polite" })),
          el("div", { class: "modal-actions" },
            el("button", { type: "button", class: "ghost", id: "share-close" }, "Close"),
            el("button", { type: "submit", class: "primary", id: "share-submit" }, "Create link")),
          el("h3", {}, "Links of this tenant"),
          el("div", { class: "table-wrap" },
            el("table", { class: "data", id: "share-links" },
              el("thead", {}, el("tr", {}, ["Label", "Range", "Expires", "Views", "Last viewed", "Status", ""].map((h) => el("th", { scope: "col" }, h)))),
              el("tbody", {})))));
      document.body.append(dialog);
      $("#share-form").addEventListener("submit", submit);
      $("#share-close").addEventListener("click", close);
      dialog.addEventListener("close", forget);
      $("#share-copy").addEventListener("click", async () => {
        const input = $("#share-url");
        input.select();
        try {
          await navigator.clipboard.writeText(input.value);
          $("#share-copied").textContent = "Copied.";
        } catch (_) {
          $("#share-copied").textContent = "Select the link and copy it (Ctrl+C).";
        }
      });
    }

    // The token leaves the page when the dialog closes.
    function forget() {
      $("#share-url").value = "";
      $("#share-embed").value = "";
      $("#share-made").hidden = true;
      $("#share-copied").textContent = "";
    }

    function close() {
      dialog.close();
    }

    function rangeText(view) {
      const range = (view && view.range) || {};
      if (range.preset) return (PRESETS.find(([p]) => p === range.preset) || [0, range.preset])[1];
      return (range.from || "?") + " – " + (range.to || "?");
    }

    async function refreshList() {
      const body = $("#share-links tbody");
      body.replaceChildren();
      let list;
      try {
        list = await call("/admin/shares");
      } catch (error) {
        body.append(el("tr", {}, el("td", { colspan: "7", class: "empty" }, error.message)));
        return;
      }
      if (!list.data.length) body.append(el("tr", {}, el("td", { colspan: "7", class: "empty" }, "No links yet.")));
      for (const link of list.data) {
        const revoke = link.status === "active"
          ? el("button", { type: "button", class: "small danger", "data-revoke": link.id }, "Revoke") : "";
        if (revoke) revoke.addEventListener("click", () => revokeLink(link.id));
        body.append(el("tr", { "data-share": link.id },
          el("td", {}, link.label || el("span", { class: "muted" }, "(no label)"), link.has_password ? " 🔒" : ""),
          el("td", {}, rangeText(link.view)),
          el("td", {}, (link.expires_at || "").slice(0, 10)),
          el("td", { class: "num", "data-views": String(link.views) }, String(link.views)),
          el("td", {}, link.last_viewed_at ? link.last_viewed_at.slice(0, 16).replace("T", " ") : "–"),
          el("td", { "data-status": link.status }, link.status),
          el("td", {}, revoke)));
      }
    }

    async function revokeLink(id) {
      try {
        await call("/admin/shares/" + encodeURIComponent(id), { method: "DELETE" });
      } catch (error) {
        $("#share-error").textContent = error.message;
      }
      await refreshList();
    }

    async function submit(event) {
      event.preventDefault();
      $("#share-error").textContent = "";
      const preset = $("#share-preset").value;
      const range = preset === "fixed" ? { from: $("#share-from").value, to: $("#share-to").value } : { preset };
      const filters = {};
      for (const [name, value] of Object.entries(page().filters || {})) if (value) filters[name] = value;
      const panels = [...dialog.querySelectorAll("#share-panels input:checked")].map((input) => input.name);
      const body = { view: { range, filters, panels }, expires_in_days: Number($("#share-days").value) };
      const label = $("#share-label").value.trim();
      if (label) body.label = label;
      const password = $("#share-password").value;
      if (password) body.password = password;
      try {
        const made = await call("/admin/shares", { body });
        $("#share-url").value = made.url;
        $("#share-embed").value = '<iframe src="' + made.url + '/embed" width="680" height="140" style="border:0"></iframe>';
        $("#share-made").hidden = false;
        $("#share-password").value = "";
        $("#share-url").focus();
      } catch (error) {
        $("#share-error").textContent = error.param ? error.message + " (" + error.param + ")" : error.message;
      }
      await refreshList();
    }

    async function open() {
      if (!dialog) build();
      const current = page();
      const known = { "7": "last_7_days", "30": "last_30_days", mtd: "month_to_date" }[current.preset];
      $("#share-preset").value = known || "fixed";
      $("#share-fixed").hidden = Boolean(known);
      $("#share-from").value = current.from || "";
      $("#share-to").value = current.to || "";
      const active = Object.entries(current.filters || {}).filter(([, v]) => v);
      $("#share-filters").textContent = active.length
        ? "Filters of this page go with the link: " + active.map(([k, v]) => k + " = " + v).join(", ")
        : "No filters: the link shows the whole tenant's figures.";
      forget();
      dialog.showModal();
      await refreshList();
    }

    const button = el("button", { id: "share-open", type: "button", class: "small" }, "Share");
    button.addEventListener("click", open);
    const controls = $("#view-savings .controls");
    if (controls) controls.append(button);
    return { open };
  }

  window.GatewayShares = { create };
})();
