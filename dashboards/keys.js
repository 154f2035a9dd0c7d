// The keys page (#keys): a tenant owner (or an admin, for the tenant it picks)
// lists the tenant's keys and teams from the admin API, makes a key and sees it
// once, changes a key's limits and budgets, revokes a key after a
// confirmation, adds teams and sets a team's budget.
//
// What belongs here: that page only. The shell (sign-in, the API call, page
// switching) is app.js, which hands its helpers to `create`.
//
// The plain text of a new key lives only in the "your new key" dialog while it
// is open: never in storage, never in the table, gone when the dialog closes.
// Money arrives and leaves as decimal strings; it is validated as text and
// shown through format.js, never turned into a float.
(function () {
  "use strict";

  const DECIMAL = /^\d+(\.\d+)?$/;
  const WHOLE = /^\d+$/;
  const MINUTE = 60000;

  function create(ctx) {
    const { call, el, $, $$, F } = ctx;
    const state = {
      loaded: false,
      seq: 0,
      loads: 0,
      keys: [],
      teams: [],
      tenants: null,
      admin: false,
      tenant: "",
      revoking: null,
      editing: null,
      team: null,
    };

    // ---- helpers -----------------------------------------------------------
    function text(value, fallback) {
      return value === null || value === undefined || value === ""
        ? el("span", { class: "muted" }, fallback)
        : String(value);
    }

    // "2026-12-07T12:14:03Z" -> "2026-12-07 12:14 UTC"
    function when(iso) {
      if (!iso) return "";
      const date = new Date(iso);
      if (isNaN(date.getTime())) return String(iso);
      return date.toISOString().slice(0, 16).replace("T", " ") + " UTC";
    }

    function ago(iso) {
      const date = new Date(iso);
      const ms = Date.now() - date.getTime();
      if (isNaN(ms)) return String(iso);
      if (ms < MINUTE) return "just now";
      if (ms < 60 * MINUTE) return Math.floor(ms / MINUTE) + " min ago";
      if (ms < 24 * 60 * MINUTE) return Math.floor(ms / (60 * MINUTE)) + " h ago";
      return when(iso).slice(0, 10);
    }

    function timeCell(iso, relative, none) {
      if (!iso) return el("span", { class: "muted" }, none);
      return el("time", { datetime: iso, title: when(iso) }, relative ? ago(iso) : when(iso).slice(0, 10));
    }

    function limits(item) {
      const parts = [];
      if (item.rpm !== null && item.rpm !== undefined) parts.push(F.count(item.rpm) + " rpm");
      if (item.tpm !== null && item.tpm !== undefined) parts.push(F.count(item.tpm) + " tpm");
      if (item.max_concurrent !== null && item.max_concurrent !== undefined) parts.push(F.count(item.max_concurrent) + " at once");
      return parts.length ? parts.join(" · ") : el("span", { class: "muted" }, "none");
    }

    function budget(value) {
      return value === null || value === undefined || value === ""
        ? el("span", { class: "muted", title: "no budget" }, "–")
        : el("span", { title: String(value) + " USD" }, F.money(value));
    }

    // A key as people recognise it: its prefix (a config key may have none).
    function shortKey(item) {
      return item.prefix ? item.prefix + "…" : item.id;
    }

    function keyName(item) {
      return shortKey(item) + (item.label ? " (" + item.label + ")" : "");
    }

    function showError(message) {
      const banner = $("#keys-error");
      banner.textContent = message || "";
      banner.hidden = !message;
    }

    function notice(message) {
      const banner = $("#keys-notice");
      banner.textContent = message || "";
      banner.hidden = !message;
    }

    // What to say when a call fails; 401 signs out.
    function explain(error, doing) {
      if (error.status === 401) {
        ctx.signOut();
        return null;
      }
      if (error.status === 403) {
        return "This key may not " + doing + " (" + error.message + "). Sign in with the tenant owner's key (role owner) or an admin key.";
      }
      if (error.status === 404 && !error.param) return "The gateway answered 404 (" + error.message + "): it has no admin API at this address.";
      return "Could not " + doing + ": " + error.message;
    }

    function tenantParams(extra) {
      return Object.assign({}, state.tenant ? { tenant: state.tenant } : {}, extra || {});
    }

    // ---- dialogs -----------------------------------------------------------
    function openDialog(dialog) {
      dialog.returnFocus = document.activeElement;
      // A row's button is drawn again when the tables reload, which may happen
      // before the dialog's close event: focus then goes to the new one.
      dialog.returnSelector = rowButtonSelector(document.activeElement);
      dialog.showModal();
    }

    function wireDialog(dialog, onClose) {
      for (const button of $$("[data-close]", dialog)) button.addEventListener("click", () => dialog.close());
      dialog.addEventListener("close", () => {
        if (onClose) onClose();
        let back = dialog.returnFocus;
        if (back && !back.isConnected && dialog.returnSelector) back = $(dialog.returnSelector);
        dialog.returnFocus = null;
        dialog.returnSelector = null;
        if (back && back.isConnected && !back.disabled) back.focus();
        else $("#keys-title").focus();
      });
    }

    // Marks the form field the API (or the page) found wrong, and focuses it.
    function fieldError(form, errorNode, message, param) {
      for (const input of $$("[aria-invalid]", form)) input.removeAttribute("aria-invalid");
      errorNode.textContent = message || "";
      if (!param) return;
      const input = form.elements.namedItem(param);
      if (input && input.focus) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-errormessage", errorNode.id);
        input.focus();
      }
    }

    // ---- loading -----------------------------------------------------------
    // Which tenants the key may manage: those the API lists and those its keys
    // belong to (a tenant may exist only through its keys). An owner key sees
    // its own only; an admin key sees every tenant and picks one.
    async function loadTenants() {
      let ids = [];
      try {
        const [tenants, keys] = await Promise.all([call("/admin/tenants"), call("/admin/keys")]);
        ids = (tenants.data || []).map((t) => t.id).concat((keys.data || []).map((k) => k.tenant));
      } catch (error) {
        if (error.status === 401) throw error;
      }
      state.tenants = Array.from(new Set(ids.filter(Boolean))).sort();
      state.admin = state.tenants.length > 1;
      if (state.tenants.length === 1) state.tenant = state.tenants[0];
      const select = $("#keys-tenant");
      const field = $("#keys-tenant-field");
      field.hidden = !state.admin;
      for (const option of $$("[data-admin-only]")) option.hidden = !state.admin;
      if (state.admin) {
        if (!state.tenant || !state.tenants.includes(state.tenant)) {
          const own = $("#tenant").textContent;
          state.tenant = state.tenants.includes(own) ? own : state.tenants[0];
        }
        select.replaceChildren(...state.tenants.map((id) => el("option", { value: id }, id)));
        select.value = state.tenant;
      }
    }

    async function refresh() {
      const seq = ++state.seq;
      const view = $("#view-keys");
      view.dataset.state = "loading";
      view.classList.add("loading");
      try {
        if (state.tenants === null) await loadTenants();
        const includeRevoked = $("#keys-show-revoked").checked;
        const [keys, teams] = await Promise.all([
          call("/admin/keys", { params: tenantParams(includeRevoked ? { include_revoked: "true" } : {}) }),
          call("/admin/teams", { params: tenantParams() }),
        ]);
        if (seq !== state.seq) return;
        state.keys = keys.data || [];
        state.teams = withKeyedTeams(teams.data || [], state.keys);
        const focus = rowButtonSelector(document.activeElement);
        renderKeys();
        renderTeams();
        if (focus) {
          const again = $(focus);
          if (again) again.focus();
        }
        fillTeamOptions();
        if (!$("#tenant").textContent) {
          const tenant = state.tenant || (state.keys[0] && state.keys[0].tenant) || (state.teams[0] && state.teams[0].tenant) || "";
          $("#tenant").textContent = tenant;
        }
        showError("");
        state.loaded = true;
        view.dataset.loads = String(++state.loads);
        view.dataset.state = "ready";
      } catch (error) {
        if (seq !== state.seq) return;
        const message = explain(error, "manage keys");
        if (message === null) return;
        showError(message);
        view.dataset.state = "error";
      } finally {
        if (seq === state.seq) view.classList.remove("loading");
      }
    }

    // A selector that finds `element`, a button of a table row, again after
    // the row is drawn anew; null for anything else.
    function rowButtonSelector(element) {
      if (!element || !element.closest || !element.closest("#view-keys tbody")) return null;
      for (const name of ["data-team-budget", "data-revoke", "data-edit"]) {
        const value = element.getAttribute(name);
        if (value !== null) return "[" + name + '="' + CSS.escape(value) + '"]';
      }
      return null;
    }

    // ---- keys table ----------------------------------------------------------
    function status(item) {
      if (item.revoked_at) {
        return el("span", { class: "chip revoked", title: "Revoked " + when(item.revoked_at) }, "revoked " + when(item.revoked_at).slice(0, 10));
      }
      if (item.expires_at && new Date(item.expires_at).getTime() <= Date.now()) {
        return el("span", { class: "chip revoked", title: "Expired " + when(item.expires_at) }, "expired");
      }
      const chip = el("span", { class: "chip saved" }, "active");
      return item.expires_at
        ? [chip, el("span", { class: "sub-name", title: when(item.expires_at) }, "until " + when(item.expires_at).slice(0, 10))]
        : chip;
    }

    function renderKeys() {
      const body = $("#keys-table tbody");
      if (!state.keys.length) {
        body.replaceChildren(el("tr", null, el("td", { colspan: 11, class: "empty" }, "No keys yet. Create one to give a developer or a service access.")));
        return;
      }
      const rows = state.keys.slice().sort((a, b) => String(b.created_at || "").localeCompare(String(a.created_at || "")));
      body.replaceChildren(...rows.map((item) => {
        const fromConfig = item.source === "config";
        let action;
        if (fromConfig) action = el("span", { class: "chip same", title: "A [[keys]] entry of the config file: change it there" }, "config");
        else if (item.revoked_at) action = "";
        else {
          const edit = el("button", { type: "button", class: "small", "data-edit": item.id, "aria-label": "Edit key " + keyName(item) }, "Edit");
          edit.addEventListener("click", () => openKeyForm(item));
          const revoke = el("button", { type: "button", class: "small danger-ghost", "data-revoke": item.id, "aria-label": "Revoke key " + keyName(item) }, "Revoke");
          revoke.addEventListener("click", () => askRevoke(item));
          action = el("span", { class: "row-actions" }, edit, revoke);
        }
        const models = item.models && item.models.length
          ? el("div", { class: "sub-line", title: item.models.join(", ") }, "models: " + item.models.join(", "))
          : null;
        return el("tr", { "data-id": item.id, "data-prefix": item.prefix || "", "data-revoked": item.revoked_at ? "true" : "false", class: item.revoked_at ? "revoked-row" : null },
          el("td", { class: "name" }, el("code", { class: "prefix" }, shortKey(item))),
          el("td", { class: "name", title: item.label || "" }, text(item.label, "(no label)")),
          el("td", null, text(item.team, "(none)")),
          el("td", null, el("span", { class: "chip role" }, item.role || "api")),
          el("td", null, limits(item), models),
          el("td", { class: "num" }, budget(item.budget_daily_usd)),
          el("td", { class: "num" }, budget(item.budget_monthly_usd)),
          el("td", null, timeCell(item.created_at, false, "–")),
          el("td", { "data-last-used": item.last_used_at || "" }, timeCell(item.last_used_at, true, "never")),
          el("td", null, status(item)),
          el("td", { class: "actions" }, action));
      }));
    }

    // ---- teams table -------------------------------------------------------
    // Teams that only keys name (no team record or [[teams]] entry yet) are
    // listed too, so their budget can be set (the API then records the team).
    function withKeyedTeams(teams, keys) {
      const all = teams.slice();
      for (const key of keys) {
        if (key.team && !all.some((t) => t.id === key.team && t.tenant === key.tenant)) {
          all.push({
            tenant: key.tenant, id: key.team, name: null, rpm: null, tpm: null, max_concurrent: null,
            budget_daily_usd: null, budget_monthly_usd: null, created_at: null, updated_at: null, source: "keys",
          });
        }
      }
      return all;
    }

    function renderTeams() {
      const body = $("#teams-table tbody");
      if (!state.teams.length) {
        body.replaceChildren(el("tr", null, el("td", { colspan: 7, class: "empty" }, "No teams yet.")));
        return;
      }
      const rows = state.teams.slice().sort((a, b) => String(a.id).localeCompare(String(b.id)));
      body.replaceChildren(...rows.map((team) => {
        const button = el("button", { type: "button", class: "small", "data-team-budget": team.id, "aria-label": "Set the budget of team " + team.id }, "Set budget");
        button.addEventListener("click", () => openTeam(team));
        return el("tr", { "data-team": team.id },
          el("td", { class: "name" }, team.id,
            team.source === "config" ? el("span", { class: "sub-name", title: "From the config file's [[teams]]" }, "config") : null,
            team.source === "keys" ? el("span", { class: "sub-name", title: "Named by keys; no settings of its own yet" }, "from keys") : null),
          el("td", null, text(team.name, "–")),
          el("td", null, limits(team)),
          el("td", { class: "num", "data-budget": "daily", "data-value": team.budget_daily_usd ?? "" }, budget(team.budget_daily_usd)),
          el("td", { class: "num", "data-budget": "monthly", "data-value": team.budget_monthly_usd ?? "" }, budget(team.budget_monthly_usd)),
          el("td", null, timeCell(team.updated_at || team.created_at, true, "–")),
          el("td", { class: "actions" }, button));
      }));
    }

    function fillTeamOptions() {
      const select = $("#key-team");
      const current = select.value;
      select.replaceChildren(el("option", { value: "" }, "No team"),
        ...state.teams.map((team) => el("option", { value: team.id }, team.name ? team.id + " (" + team.name + ")" : team.id)));
      select.value = state.teams.some((t) => t.id === current) ? current : "";
    }

    // ---- create and edit -----------------------------------------------------
    // `item` null: a new key; else the key whose settings are edited (its role
    // stays; the API changes no role).
    function openKeyForm(item) {
      state.editing = item;
      const form = $("#key-create-form");
      form.reset();
      fillTeamOptions();
      fieldError(form, $("#key-create-error"), "");
      $("#key-create-title").textContent = item ? "Edit key " + shortKey(item) : "Create a key";
      $("#key-create-submit").textContent = item ? "Save" : "Create key";
      $("#key-role").disabled = Boolean(item);
      $("#key-role-help").hidden = Boolean(item);
      if (item) {
        const set = (name, value) => { form.elements.namedItem(name).value = value === null || value === undefined ? "" : String(value); };
        set("label", item.label);
        if (item.team && !state.teams.some((t) => t.id === item.team)) {
          $("#key-team").append(el("option", { value: item.team }, item.team));
        }
        set("team", item.team);
        set("role", item.role);
        set("models", (item.models || []).join(", "));
        for (const name of ["rpm", "tpm", "max_concurrent", "budget_daily_usd", "budget_monthly_usd"]) set(name, item[name]);
        set("expires_at", item.expires_at ? when(item.expires_at).slice(0, 10) : "");
      }
      openDialog($("#key-create-dialog"));
      $("#key-label").focus();
    }

    // The request body from the form, or [message, field] when a field is wrong.
    // Editing sends only what changed, an emptied field as null (cleared).
    function keyBody(form, item) {
      const value = (name) => form.elements.namedItem(name).value.trim();
      const body = {};
      const put = (name, next, before) => {
        if (!item) {
          if (next !== null) body[name] = next;
        } else if (JSON.stringify(next) !== JSON.stringify(before === undefined ? null : before)) {
          body[name] = next;
        }
      };
      if (!item) {
        body.role = value("role");
        if (state.tenant) body.tenant = state.tenant;
      }
      put("label", value("label") || null, item && item.label);
      put("team", value("team") || null, item && item.team);
      const models = value("models").split(/[\s,]+/).filter(Boolean);
      put("models", models.length ? models : null, item && item.models && item.models.length ? item.models : null);
      for (const [name, what] of [["rpm", "Requests per minute"], ["tpm", "Tokens per minute"], ["max_concurrent", "Requests at once"]]) {
        const v = value(name);
        if (v && (!WHOLE.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v)))) return [what + " must be a whole number of 1 or more.", name];
        put(name, v ? Number(v) : null, item && item[name]);
      }
      for (const [name, what] of [["budget_daily_usd", "The daily budget"], ["budget_monthly_usd", "The monthly budget"]]) {
        const v = value(name);
        if (v && !DECIMAL.test(v)) return [what + " must be an amount in dollars, like 25 or 12.50.", name];
        put(name, v || null, item && item[name]);
      }
      const expires = value("expires_at");
      const before = item && item.expires_at ? when(item.expires_at).slice(0, 10) : "";
      if (expires !== before) {
        if (expires && expires < new Date().toISOString().slice(0, 10)) return ["The expiry day is in the past.", "expires_at"];
        if (item || expires) body.expires_at = expires ? expires + "T23:59:59Z" : null;
      }
      return body;
    }

    async function submitKey(event) {
      event.preventDefault();
      const form = $("#key-create-form");
      const errorNode = $("#key-create-error");
      const item = state.editing;
      const body = keyBody(form, item);
      if (Array.isArray(body)) return fieldError(form, errorNode, body[0], body[1]);
      fieldError(form, errorNode, "");
      if (item && Object.keys(body).length === 0) return $("#key-create-dialog").close();
      const button = $("#key-create-submit");
      button.disabled = true;
      try {
        if (item) {
          const saved = await call("/admin/keys/" + encodeURIComponent(item.id), { body, method: "PATCH" });
          $("#key-create-dialog").close();
          notice("Key " + keyName(saved) + " saved.");
          await refresh();
        } else {
          const made = await call("/admin/keys", { body });
          $("#key-create-dialog").close();
          showCreated(made);
          refresh();
        }
      } catch (error) {
        const message = explain(error, item ? "change keys" : "create keys");
        if (message !== null) fieldError(form, errorNode, message, error.param);
      } finally {
        button.disabled = false;
      }
    }

    function showCreated(made) {
      const dialog = $("#key-created-dialog");
      $("#key-created-value").value = made.key;
      $("#key-created-prefix").textContent = made.prefix + "…";
      $("#key-created-copied").textContent = "";
      dialog.dataset.id = made.id;
      notice("Key " + keyName(made) + " created.");
      openDialog(dialog);
      // Closing returns focus to "Create key"; the key's text is then gone.
      dialog.returnFocus = $("#key-new");
      $("#key-created-value").focus();
      $("#key-created-value").select();
    }

    function forgetCreated() {
      const dialog = $("#key-created-dialog");
      $("#key-created-value").value = "";
      $("#key-created-prefix").textContent = "";
      $("#key-created-copied").textContent = "";
      delete dialog.dataset.id;
      delete dialog.dataset.copied;
    }

    async function copyCreated() {
      const input = $("#key-created-value");
      const said = $("#key-created-copied");
      let copied = false;
      try {
        await navigator.clipboard.writeText(input.value);
        copied = true;
      } catch (_) {
        input.focus();
        input.select();
        try {
          copied = document.execCommand("copy");
        } catch (__) {
          copied = false;
        }
      }
      $("#key-created-dialog").dataset.copied = copied ? "true" : "false";
      said.textContent = copied
        ? "Copied to the clipboard."
        : "Could not copy automatically: the key is selected, copy it with Ctrl+C (⌘C).";
      if (!copied) {
        input.focus();
        input.select();
      }
    }

    // ---- revoke --------------------------------------------------------------
    function askRevoke(item) {
      state.revoking = item;
      $("#key-revoke-text").textContent = "Requests with " + keyName(item) +
        " are refused within a second, on every replica. This cannot be undone: to give access again, create a new key.";
      $("#key-revoke-error").textContent = "";
      openDialog($("#key-revoke-dialog"));
    }

    async function confirmRevoke() {
      const item = state.revoking;
      if (!item) return;
      const button = $("#key-revoke-confirm");
      button.disabled = true;
      $("#key-revoke-error").textContent = "";
      try {
        await call("/admin/keys/" + encodeURIComponent(item.id) + "/revoke", { body: {} });
        state.revoking = null;
        $("#key-revoke-dialog").returnFocus = $("#key-new");
        $("#key-revoke-dialog").close();
        notice("Key " + keyName(item) + " revoked.");
        await refresh();
      } catch (error) {
        const message = explain(error, "revoke keys");
        if (message !== null) $("#key-revoke-error").textContent = message;
      } finally {
        button.disabled = false;
      }
    }

    // ---- teams ---------------------------------------------------------------
    // `team` null: a new team.
    function openTeam(team) {
      state.team = team;
      const form = $("#team-form");
      form.reset();
      fieldError(form, $("#team-error"), "");
      $("#team-dialog-title").textContent = team ? "Budget of team " + team.id : "Add a team";
      $("#team-id").value = team ? team.id : "";
      $("#team-id").readOnly = Boolean(team);
      $("#team-name").value = team && team.name ? team.name : "";
      $("#team-budget-daily").value = team && team.budget_daily_usd ? team.budget_daily_usd : "";
      $("#team-budget-monthly").value = team && team.budget_monthly_usd ? team.budget_monthly_usd : "";
      openDialog($("#team-dialog"));
      (team ? $("#team-budget-daily") : $("#team-id")).focus();
    }

    async function submitTeam(event) {
      event.preventDefault();
      const form = $("#team-form");
      const errorNode = $("#team-error");
      const team = state.team;
      const value = (name) => form.elements.namedItem(name).value.trim();
      const body = {};
      if (!team) {
        if (!value("id")) return fieldError(form, errorNode, "A team needs an id.", "id");
        body.id = value("id");
        if (state.tenant) body.tenant = state.tenant;
      }
      if (value("name") !== ((team && team.name) || "")) body.name = value("name") || null;
      for (const [name, what] of [["budget_daily_usd", "The daily budget"], ["budget_monthly_usd", "The monthly budget"]]) {
        const v = value(name);
        if (v && !DECIMAL.test(v)) return fieldError(form, errorNode, what + " must be an amount in dollars, like 25 or 12.50.", name);
        if (v) body[name] = v;
        else if (team) body[name] = null;
      }
      fieldError(form, errorNode, "");
      const button = $("#team-submit");
      button.disabled = true;
      try {
        const saved = team
          ? await call("/admin/teams/" + encodeURIComponent(team.tenant) + "/" + encodeURIComponent(team.id), { body, method: "PATCH" })
          : await call("/admin/teams", { body });
        state.team = null;
        $("#team-dialog").close();
        const amounts = [saved.budget_daily_usd ? F.money(saved.budget_daily_usd) + " a day" : null,
          saved.budget_monthly_usd ? F.money(saved.budget_monthly_usd) + " a month" : null].filter(Boolean);
        notice("Team " + saved.id + (amounts.length ? ": budget " + amounts.join(", ") + "." : ": no budget."));
        await refresh();
      } catch (error) {
        const message = explain(error, team ? "change teams" : "add teams");
        if (message !== null) fieldError(form, errorNode, message, error.param);
      } finally {
        button.disabled = false;
      }
    }

    // ---- wiring --------------------------------------------------------------
    wireDialog($("#key-create-dialog"), () => { state.editing = null; });
    wireDialog($("#key-created-dialog"), forgetCreated);
    wireDialog($("#key-revoke-dialog"), () => { state.revoking = null; });
    wireDialog($("#team-dialog"), () => { state.team = null; });
    $("#key-new").addEventListener("click", () => openKeyForm(null));
    $("#team-new").addEventListener("click", () => openTeam(null));
    $("#key-create-form").addEventListener("submit", submitKey);
    $("#key-created-copy").addEventListener("click", copyCreated);
    $("#key-revoke-confirm").addEventListener("click", confirmRevoke);
    $("#team-form").addEventListener("submit", submitTeam);
    $("#keys-show-revoked").addEventListener("change", refresh);
    $("#keys-tenant").addEventListener("change", () => {
      state.tenant = $("#keys-tenant").value;
      $("#tenant").textContent = state.tenant;
      notice("");
      refresh();
    });

    return {
      // The page became visible: load it the first time.
      show() {
        if (!state.loaded && $("#view-keys").dataset.state !== "loading") refresh();
      },
      refresh,
      // Sign-out: forget everything the page showed.
      reset() {
        state.seq++;
        for (const dialog of $$("dialog[open]")) dialog.close();
        forgetCreated();
        Object.assign(state, { loaded: false, keys: [], teams: [], tenants: null, admin: false, tenant: "", revoking: null, editing: null, team: null });
        $("#keys-table tbody").replaceChildren();
        $("#tenant").textContent = "";
        $("#teams-table tbody").replaceChildren();
        showError("");
        notice("");
        $("#view-keys").dataset.state = "idle";
      },
    };
  }

  window.GatewayKeys = { create };
})();
