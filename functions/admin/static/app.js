/* Helpdesk Buttons settings page: plain JS, no framework. Talks to /v1/admin/* with the admin token. */
"use strict";
(function () {
  const BASE = document.body.dataset.base || "";
  const API = BASE + "/v1/admin";
  const TOKEN_KEY = "helpdesk.admin.token";
  const $ = (id) => document.getElementById(id);
  const DEFAULT_FIELDS = [
    ["queue", "Queue"], ["priority", "Priority"], ["ticketStatus", "Status"], ["type", "Type"],
    ["source", "Source"], ["issue", "Issue"], ["subIssue", "Sub-issue"], ["category", "Category"],
    ["worktype", "Work type"],
  ];
  const EVENTS = [
    ["created", "Ticket created"], ["status_changed", "Status changed"],
    ["reply", "New reply from a technician"], ["completed", "Ticket completed"],
  ];
  const SAMPLE = {
    selections: ["This is an emergency"], msg: "My printer is on fire!", subject: "Printer on fire",
    append: "", email: "jane@contoso.com", name: "Jane Doe", hostname: "PC-042", ip: "10.0.0.42",
    mac: "00:11:22:33:44:55", contactName: "Jane Doe", businessName: "Contoso", priority: "Medium",
  };
  let settings = null;
  let picklists = null;

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || ("HTTP " + status));
      this.status = status; this.body = body || {};
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json", Authorization: "Bearer " + (sessionStorage.getItem(TOKEN_KEY) || "") };
    const init = { method, headers };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    let resp;
    try { resp = await fetch(API + path, init); } catch (e) { throw new ApiError(0, { message: "The service is not reachable. Check your connection and try again." }); }
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = { message: text.slice(0, 200) }; }
    if (resp.status === 401 && path !== "/me") { signOut("Your session ended. Sign in again."); }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  function say(id, text, kind) {
    const el = $(id); el.textContent = text || ""; el.className = "status" + (kind ? " " + kind : "");
  }

  async function busy(button, fn) {
    button.disabled = true;
    try { return await fn(); } finally { button.disabled = false; }
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v; else if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function when(iso) { try { return new Date(iso).toLocaleString(); } catch (e) { return iso; } }

  /* ------------------------------------------------------------------ session */
  async function signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    const me = await api("GET", "/me");
    $("tenant-name").textContent = me.name + " (" + me.tenant_id + ")";
    // The first read of the callout URL issues its token, which changes the settings' revision: read it before
    // the settings, so a new tenant's first save is no false "changed by someone else"
    await loadCallout();
    await loadSettings();  // forms are filled before they are shown
    $("signin").hidden = true; $("app").hidden = false; $("session").hidden = false;
    await Promise.allSettled([loadRules(), loadKeys(), loadAdminTokens(), loadPicklists(false),
      loadSummary(), loadPresses(false)]);
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("app").hidden = true; $("session").hidden = true; $("signin").hidden = false;
    $("token").value = "";
    for (const id of ["new-key", "new-admin-token"]) $(id).hidden = true;  // never leave a secret on screen
    for (const id of ["new-key-value", "new-admin-token-value", "api_key"]) $(id).value = "";
    dirty.clear();
    say("signin-status", message || "", message ? "bad" : "");
  }

  $("signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = $("token").value.trim();
    if (!token) { say("signin-status", "Enter your admin token.", "bad"); return; }
    say("signin-status", "Signing in…");
    try { await busy($("signin-button"), () => signIn(token)); say("signin-status", ""); }
    catch (e) { sessionStorage.removeItem(TOKEN_KEY); $("app").hidden = true; $("signin").hidden = false; say("signin-status", e.status === 401 ? "That admin token is not valid." : e.message, "bad"); }
  });
  $("sign-out").addEventListener("click", () => signOut());

  /* ------------------------------------------------------------------ settings */
  function clearErrors(form) {
    form.querySelectorAll("small.error").forEach((s) => { s.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
  }

  // The input of each field path the admin API can refuse (422 `fields[].field`); its message goes to <id>-error.
  const FIELD_INPUTS = {
    "autotask.host": "host", "autotask.api_key": "api_key", "autotask.integration_code": "integration_code",
    "autotask.unregistered_email": "unregistered_email", rules_on_error: "rules_on_error",
    source: "rules-source", variables: "rules-sample",
  };
  function inputFor(path, aliases) {
    if (aliases && aliases[path]) return aliases[path];
    if (FIELD_INPUTS[path]) return FIELD_INPUTS[path];
    const parts = path.split(".");
    if (parts[0] === "defaults" && parts[1]) return "default-" + parts[1];
    if (parts[0] === "notifications" && parts[1] === "templates" && parts[2]) return "template-" + parts[2];
    if (parts[0] === "notifications" && parts[1] === "events") return "event-" + EVENTS[0][0];
    return null;
  }

  // "must be at most 300 characters" -> "Must be at most 300 characters." (the API's words, as a sentence)
  function sentence(text) {
    const t = String(text || "").trim();
    if (!t) return "This value is not valid.";
    return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
  }

  // Each refused field's message next to it; true when every one found its field.
  function showFieldErrors(err, aliases) {
    let first = null, all = true;
    for (const f of (err.body && err.body.fields) || []) {
      const id = inputFor(String(f.field || ""), aliases);
      const input = id && $(id), slot = id && $(id + "-error");
      if (slot) slot.textContent = sentence(f.message); else all = false;
      if (input) { input.setAttribute("aria-invalid", "true"); first = first || input; }
    }
    if (first) first.focus();
    return all && !!first;
  }

  function clearFieldError(id) {
    const slot = $(id + "-error"); if (slot) slot.textContent = "";
    const input = $(id); if (input) input.removeAttribute("aria-invalid");
  }

  async function saveSettings(body, statusId, form) {
    if (form) clearErrors(form);
    say(statusId, "Saving…");
    try {
      settings = await api("PUT", "/settings", Object.assign({ revision: settings.revision }, body));
      fillSettings();
      if (form) dirty.delete(form.id);
      say(statusId, "Saved.", "ok");
      return true;
    } catch (e) {
      if (e.status === 422 && showFieldErrors(e)) { say(statusId, "Not saved: see the message at the field.", "bad"); return false; }
      say(statusId, e.status === 409 ? e.message : "Not saved: " + e.message, "bad");
      return false;
    }
  }

  async function loadSettings() {
    settings = await api("GET", "/settings");
    fillSettings();
  }

  function fillSettings() {
    const at = settings.autotask;
    $("host").value = at.host || "";
    $("integration_code").value = at.integration_code || "";
    $("unregistered_email").value = at.unregistered_email || "";
    $("api_key").value = "";
    // A short placeholder that fits the field at any width; what it means is the line under the field
    $("api_key").placeholder = at.api_key_set ? "Saved: " + (at.api_key_mask || "****") : "user@domain:password";
    $("api_key-saved").hidden = !at.api_key_set;
    $("api_key-saved").textContent = at.api_key_set ? "A key is saved (" + (at.api_key_mask || "****") + "). Leave the field empty to keep it, or enter a new key to replace it." : "";
    renderStatus();
    renderDefaults();
    renderNotifications();
    $("rules_on_error").value = settings.rules_on_error || "create";
  }

  // The top of the page: is Autotask connected, and what did the last Integration Test find (kept by the API)
  function renderStatus() {
    const at = settings.autotask, t = settings.last_integration_test;
    const host = at.host || "";
    let state = "untested", text;
    if (!at.configured) {
      state = "not_configured";
      text = "Autotask: not configured. Enter the API endpoint, API key and integration code below.";
    } else if (!t || !t.current) {
      text = "Autotask: set up for " + host + ", not checked " + (t ? "since the connection changed" : "yet") + ". Run the Integration Test.";
    } else if (t.connection === "connected") {
      state = "connected"; text = "Autotask: connected to " + host + ".";
    } else if (t.connection === "rejected") {
      state = "rejected"; text = "Autotask: credentials rejected by " + host + ". Check the API key and the integration code.";
    } else {
      state = "unreachable"; text = "Autotask: " + host + " could not be reached at the last Integration Test.";
    }
    const line = $("connection-state");
    line.textContent = text; line.dataset.state = state;
    line.className = "state " + ({ connected: "ok", rejected: "bad", unreachable: "bad", not_configured: "warn" }[state] || "");
    const last = $("last-test"), problems = $("last-test-problems");
    problems.textContent = "";
    if (!t) {
      last.textContent = "Last Integration Test: never run."; last.dataset.result = "none"; last.className = "state";
      return;
    }
    const n = t.failed;
    last.textContent = "Last Integration Test: " + (t.ok ? "passed" : "failed") + " " + when(t.ran_at) + ", " +
      n + " problem" + (n === 1 ? "" : "s") + (t.current ? "." : " (before the connection changed).");
    last.dataset.result = t.ok ? "passed" : "failed";
    last.className = "state " + (t.ok ? "ok" : "bad");
    for (const p of t.problems || []) problems.append(el("li", { text: p }));
    if (n > (t.problems || []).length) problems.append(el("li", { text: "… and " + (n - t.problems.length) + " more: run the test to see all." }));
  }
  $("jump-to-test").addEventListener("click", (ev) => {
    ev.preventDefault();
    $("test").scrollIntoView();
    $("run-test").focus();
  });

  $("rules-on-error-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { rules_on_error: $("rules_on_error").value };
    await busy($("save-rules-on-error"), () => saveSettings(body, "rules-on-error-status", ev.target));
  });

  $("connection-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    // Send what was typed; an empty field that was never set is left out (so a partial first save works),
    // an emptied field that was set is sent and refused with its own message.
    const autotask = {};
    for (const name of ["host", "integration_code", "unregistered_email"]) {
      const value = $(name).value.trim();
      if (value !== "" || settings.autotask[name]) autotask[name] = value;
    }
    if ($("api_key").value) autotask.api_key = $("api_key").value;
    const saved = await busy($("save-connection"), () => saveSettings({ autotask }, "connection-status", ev.target));
    if (saved) loadPicklists(false);
  });

  /* ------------------------------------------------------------------ defaults and picklists */
  function options(name) {
    if (!picklists || !picklists.fields[name]) return [];
    let opts = picklists.fields[name];
    if (name === "subIssue") {
      const issue = $("default-issue") ? $("default-issue").value : (settings.defaults.issue || "");
      const parent = (picklists.fields.issue || []).find((o) => o.label === issue);
      opts = parent ? opts.filter((o) => o.parent === parent.value) : [];
    }
    return opts;
  }

  function renderDefaults() {
    const box = $("defaults-fields");
    const current = {};
    box.querySelectorAll("select").forEach((s) => { current[s.name] = s.value; });
    box.textContent = "";
    for (const [name, label] of DEFAULT_FIELDS) {
      const saved = settings.defaults[name];
      const value = name in current ? current[name] : (saved === null || saved === undefined ? "" : String(saved));
      const select = el("select", { id: "default-" + name, name, "aria-describedby": "default-" + name + "-error" });
      select.append(el("option", { value: "", text: "(none)" }));
      let found = value === "";
      for (const o of options(name)) {
        const v = name === "worktype" ? o.value : o.label;
        if (v === value) found = true;
        select.append(el("option", { value: v, text: name === "worktype" ? o.label + " (" + o.value + ")" : o.label }));
      }
      if (!found) select.append(el("option", { value, text: value + (picklists ? " (not in Autotask)" : "") }));
      select.value = value;
      if (name === "issue") select.addEventListener("change", renderDefaults);
      box.append(el("div", { class: "field" }, el("label", { for: "default-" + name, text: label }), select,
        el("small", { class: "error", id: "default-" + name + "-error" })));
    }
  }

  async function loadPicklists(refresh) {
    if (!settings || !settings.autotask.configured) {
      say("picklists-status", "Save the Autotask connection to load the options from your PSA.");
      return;
    }
    say("picklists-status", "Loading options from Autotask…");
    try {
      picklists = await api("GET", "/picklists" + (refresh ? "?refresh=true" : ""));
      say("picklists-status", "Options loaded from Autotask " + (picklists.cached ? "(cached " : "(") + when(picklists.fetched_at) + ").", "ok");
    } catch (e) {
      picklists = null;
      say("picklists-status", "Could not load the options: " + e.message, "bad");
    }
    renderDefaults();
  }
  $("reload-picklists").addEventListener("click", () => loadPicklists(true));

  $("defaults-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const defaults = {};
    for (const [name] of DEFAULT_FIELDS) {
      const v = $("default-" + name).value;
      defaults[name] = v === "" ? null : (name === "worktype" ? Number(v) : v);
    }
    await busy($("save-defaults"), () => saveSettings({ defaults }, "defaults-status", ev.target));
  });

  /* ------------------------------------------------------------------ notifications */
  // Sample values for the preview; the keys are exactly helpdesk.notifications.render.KEYWORDS (a test checks).
  const PREVIEW_SAMPLE = {
    ticket_number: "T20261126.0042", ticket_subject: "My printer is jammed", ticket_name: "Alice Anders",
    ticket_fname: "Alice", ticket_lname: "Anders", ticket_email: "alice@contoso.com", actor: "Bob Tech",
    status: "In Progress", previous_status: "New", reply: "I am on my way.",
  };

  function previewTemplate(event) {
    const text = $("template-" + event).value;
    const unknown = new Set();
    const shown = text.replace(/__([a-z_]{2,40})__/g, (whole, name) => {
      if (Object.prototype.hasOwnProperty.call(PREVIEW_SAMPLE, name)) return PREVIEW_SAMPLE[name];
      unknown.add(whole);
      return whole;
    });
    $("preview-" + event).textContent = shown ? "Preview: " + shown : "";
    const warn = $("preview-warning-" + event);
    warn.textContent = unknown.size
      ? "Unknown keyword " + [...unknown].join(", ") + ": users would see it as typed. Keywords: " +
        Object.keys(PREVIEW_SAMPLE).map((k) => "__" + k + "__").join(" ")
      : "";
    warn.hidden = !unknown.size;
    return unknown.size;
  }

  function renderNotifications() {
    const box = $("notification-events");
    box.textContent = "";
    const n = settings.notifications;
    for (const [event, label] of EVENTS) {
      const check = el("input", { type: "checkbox", id: "event-" + event, checked: n.events.includes(event) });
      const area = el("textarea", { id: "template-" + event, rows: "2", maxlength: "500", "aria-label": label + " template" });
      area.value = n.templates[event] || "";
      area.setAttribute("aria-describedby", "preview-" + event + " preview-warning-" + event);
      const preview = el("p", { class: "muted preview", id: "preview-" + event });
      const warning = el("p", { class: "error", id: "preview-warning-" + event, role: "alert" });
      const error = el("small", { class: "error", id: "template-" + event + "-error" });
      area.setAttribute("aria-describedby", "template-" + event + "-error preview-" + event + " preview-warning-" + event);
      box.append(el("div", { class: "event" }, el("label", { class: "check", for: "event-" + event }, check, label), area, error, preview, warning));
      area.addEventListener("input", () => previewTemplate(event));
      previewTemplate(event);
    }
  }

  $("notifications-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const events = [], templates = {};
    let unknown = 0;
    for (const [event] of EVENTS) {
      if ($("event-" + event).checked) events.push(event);
      templates[event] = $("template-" + event).value;
      unknown += previewTemplate(event);
    }
    // A typo such as __ticket_numbr__ is not an error (it is shown as typed), but the admin confirms it first
    if (unknown && !window.confirm("Some templates use unknown keywords (see the warnings). Save anyway?")) {
      say("notifications-status", "Not saved: check the unknown keywords.", "bad");
      return;
    }
    await busy($("save-notifications"), () => saveSettings({ notifications: { events, templates } }, "notifications-status", ev.target));
  });

  /* ------------------------------------------------------------------ rules editor */
  const source = $("rules-source");
  let badLines = new Set();

  function renderGutter() {
    const count = Math.max(1, source.value.split("\n").length);
    const gutter = $("gutter");
    gutter.textContent = "";
    for (let i = 1; i <= count; i++) {
      gutter.append(el("span", { class: badLines.has(i) ? "bad" : null, "data-line": String(i), text: String(i) }));
    }
    gutter.scrollTop = source.scrollTop;
  }
  source.addEventListener("input", () => { badLines = new Set(); renderGutter(); });
  source.addEventListener("scroll", () => { $("gutter").scrollTop = source.scrollTop; });
  let leaving = false;  // Esc was pressed: the next Tab moves focus on instead of indenting
  source.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") { leaving = true; say("rules-status", "Press Tab to leave the editor."); return; }
    const leave = leaving;
    leaving = false;
    if (ev.key === "Tab" && !ev.shiftKey && !ev.ctrlKey && !ev.altKey && !leave) {
      ev.preventDefault();
      const s = source.selectionStart, e = source.selectionEnd;
      source.setRangeText("    ", s, e, "end");
      renderGutter();
    }
  });

  function goToLine(line, column) {
    const lines = source.value.split("\n");
    let offset = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i++) offset += lines[i].length + 1;
    const pos = offset + Math.max(0, (column || 1) - 1);
    source.focus();
    source.setSelectionRange(pos, pos);
    source.scrollTop = Math.max(0, (line - 4) * 20);
  }

  function showProblems(errors, warnings) {
    const list = $("rules-problems");
    list.textContent = "";
    badLines = new Set((errors || []).filter((e) => e.line).map((e) => e.line));
    for (const [items, kind] of [[errors || [], "error"], [warnings || [], "warning"]]) {
      for (const p of items) {
        const where = p.line ? "Line " + p.line + (p.column ? ", column " + p.column : "") : "";
        const li = el("li", { class: kind, "data-line": p.line ? String(p.line) : null });
        if (where) li.append(el("button", { type: "button", class: "link", text: where, onclick: () => goToLine(p.line, p.column) }));
        li.append((kind === "warning" ? "Warning: " : "") + p.message);
        list.append(li);
      }
    }
    renderGutter();
  }

  let focusAfter = null;  // where focus goes when a rules action that opened a dialog is over

  async function rulesAction(button, fn) {
    clearFieldError("rules-source"); clearFieldError("rules-sample");
    await busy(button, async () => {
      try { await fn(); } catch (e) {
        const fields = (e.body && e.body.fields) || [];
        if (e.status === 422 && !fields.some((f) => f.line) && showFieldErrors(e)) {
          say("rules-status", "Not saved: see the message at the field.", "bad");
        } else if (e.status === 422 && fields.some((f) => f.line)) {
          showProblems(fields.map((f) => ({ message: f.message, line: f.line, column: f.column })), []);
          say("rules-status", "Not saved: fix the error" + (fields.length > 1 ? "s" : "") + " below.", "bad");
          const first = fields.find((f) => f.line);
          if (first) goToLine(first.line, first.column);
        } else {
          say("rules-status", e.message, "bad");
        }
      }
    });
    if (focusAfter) { const target = focusAfter; focusAfter = null; target.focus(); }
  }

  // JSON.parse's own words ("Unexpected token } in JSON at position 12") as a line a person can act on
  function jsonProblem(text, error) {
    const said = String(error && error.message);
    const at = /position (\d+)/.exec(said), named = /line (\d+)/.exec(said);
    const line = named ? Number(named[1]) : (at ? text.slice(0, Number(at[1])).split("\n").length : 0);
    return "The sample inputs are not valid JSON" + (line ? " (line " + line + ")" : "") +
      ": check the quotes, commas and brackets, e.g. {\"msg\": \"Printer down\", \"selections\": []}.";
  }

  $("validate-rules").addEventListener("click", (ev) => rulesAction(ev.target, async () => {
    const r = await api("POST", "/rules/validate", { source: source.value });
    showProblems(r.errors, r.warnings);
    say("rules-status", r.ok ? "No syntax errors." + (r.warnings.length ? " See the warnings below." : "") : "Syntax error: see below.", r.ok ? "ok" : "bad");
    if (!r.ok && r.errors[0] && r.errors[0].line) goToLine(r.errors[0].line, r.errors[0].column);
  }));

  // One row per ai_categorize question: the text, every category's score, best_match, matches, and why all
  // scores are 0 when the model could not answer (the press would carry a [Submission Errors] line).
  function showClassifications(items) {
    const rows = $("rules-ai-rows");
    rows.textContent = "";
    $("rules-ai").hidden = !items.length;
    for (const c of items) {
      const scores = Object.entries(c.scores || {}).map(([k, v]) => k + ": " + v).join(", ");
      const source = c.error ? "Not classified: " + c.error : (c.cached ? "cached" : c.model || "");
      rows.append(el("tr", { class: c.error ? "changed" : null },
        el("td", { text: c.text }),
        el("td", { text: scores + (source ? " (" + source + ")" : "") }),
        el("td", { text: c.best_match === null || c.best_match === undefined ? "None" : c.best_match }),
        el("td", { text: JSON.stringify(c.matches || []) })));
    }
  }

  $("test-rules").addEventListener("click", (ev) => rulesAction(ev.target, async () => {
    let variables;
    try { variables = JSON.parse($("rules-sample").value || "{}"); } catch (e) {
      $("rules-test-panel").open = true;
      $("rules-sample-error").textContent = jsonProblem($("rules-sample").value, e);
      $("rules-sample").setAttribute("aria-invalid", "true");
      say("rules-status", "Not run: see the message at the sample inputs.", "bad");
      $("rules-sample").focus();
      return;
    }
    if (variables === null || typeof variables !== "object" || Array.isArray(variables)) {
      $("rules-test-panel").open = true;
      $("rules-sample-error").textContent = "The sample inputs must be one JSON object of variables, e.g. {\"msg\": \"Printer down\"}.";
      $("rules-sample").setAttribute("aria-invalid", "true");
      say("rules-status", "Not run: see the message at the sample inputs.", "bad");
      $("rules-sample").focus();
      return;
    }
    const r = await api("POST", "/rules/test", { source: source.value, variables });
    showProblems(r.errors, r.warnings);
    const body = $("rules-vars");
    body.textContent = "";
    const names = Object.keys(r.variables || {}).sort();
    for (const name of names) {
      const changed = Object.prototype.hasOwnProperty.call(r.changed || {}, name);
      body.append(el("tr", { class: changed ? "changed" : null }, el("td", { text: name + (changed ? " (changed)" : "") }),
        el("td", { text: JSON.stringify(r.variables[name]) })));
    }
    for (const name of Object.keys(r.helpers || {}).sort()) {
      body.append(el("tr", {}, el("td", { text: name + " (helper)" }), el("td", { text: JSON.stringify(r.helpers[name]) })));
    }
    showClassifications(r.classifications || []);
    $("rules-output").hidden = !r.output;
    $("rules-output").textContent = r.output || "";
    $("rules-test-result").hidden = !r.ok;
    if (!r.ok) say("rules-status", "Syntax error: see below.", "bad");
    else if (r.exception) say("rules-status", "The rules set exception: no ticket would be created. The user would see: " + r.exception, "bad");
    else say("rules-status", "Test ran. " + Object.keys(r.changed || {}).length + " variable(s) changed.", "ok");
  }));

  $("save-rules").addEventListener("click", (ev) => rulesAction(ev.target, async () => {
    const body = { source: source.value, note: $("rules-note").value };
    const held = settings && settings.revision;  // the settings revision the other sections will save against
    let saved;
    try { saved = await api("POST", "/rules", body); } catch (e) {
      if (e.status !== 409 || !e.body || e.body.error !== "rules_fail_on_replay") throw e;
      saved = await confirmFailingRules(body, e.body);  // the replay in a dialog: cancel, or save anyway
      if (!saved) return;
    }
    // Activating rules changes the tenant's revision. Only our own save happened in between (held + 1): keep the
    // other sections in step, so saving defaults next is no false conflict; a change by someone else still is.
    if (settings && held !== undefined && saved.settings_revision === held + 1) settings.revision = saved.settings_revision;
    if (saved.replay) showReplay($("rules-replay"), saved.replay);
    showProblems([], []);
    dirty.delete("rules");
    $("rules-note").value = "";
    say("rules-status", "Saved as version " + saved.version + ".", "ok");
    await loadHistory();
  }));

  async function loadRules() {
    if (!$("rules-sample").value) $("rules-sample").value = JSON.stringify(SAMPLE, null, 2);
    const active = await api("GET", "/rules");
    if (!dirty.has("rules")) source.value = active.source || "";  // never overwrite what the admin typed meanwhile
    renderGutter();
    await loadHistory();
  }

  async function loadHistory() {
    const versions = await api("GET", "/rules/versions");
    const body = $("rules-history");
    body.textContent = "";
    if (!versions.length) body.append(el("tr", {}, el("td", { colspan: "5", class: "muted", text: "No versions saved yet." })));
    for (const v of versions) {
      const actions = el("td", {});
      actions.append(el("button", { type: "button", class: "link", text: "View", onclick: async () => {
        const full = await api("GET", "/rules/versions/" + v.version);
        source.value = full.source || ""; showProblems([], []);
        say("rules-status", "Showing version " + v.version + " in the editor (not saved).");
      } }));
      if (!v.active) {
        actions.append(" ", el("button", { type: "button", class: "link", text: "Roll back to this", onclick: () => rulesAction(actions, async () => {
          const saved = await api("POST", "/rules/rollback", { version: v.version });
          source.value = saved.source || ""; showProblems([], []);
          say("rules-status", "Rolled back: version " + v.version + " is active again as version " + saved.version + ".", "ok");
          await loadHistory();
        }) }));
      }
      body.append(el("tr", {}, el("td", { text: "v" + v.version + (v.active ? " (active)" : "") }), el("td", { text: when(v.created_at) }),
        el("td", { text: v.author || "" }), el("td", { text: v.note || "" }), actions));
    }
  }

  /* ------------------------------------------------------------------ callout URL and webhooks */
  // Rotating the callout URL and (un)registering webhooks change the settings' revision. When only our own action
  // happened in between (held + 1), carry on with the new one, so the next save is no false conflict.
  async function followOwnChange() {
    if (!settings) return;
    const held = settings.revision;
    try {
      const fresh = await api("GET", "/settings");
      if (fresh.revision === held + 1) settings.revision = fresh.revision;
    } catch (e) { /* the next save says what is wrong */ }
  }

  async function loadCallout() {
    try {
      const urls = await api("GET", "/callout-url");
      $("callout-url").value = urls.extension_callout_url;
      say("webhooks-status", urls.webhooks_registered ? "Webhooks are registered." : "Webhooks are not registered.");
    } catch (e) { say("callout-status", e.message, "bad"); }
  }

  async function copy(inputId, statusId) {
    const input = $(inputId);
    input.select();
    try { await navigator.clipboard.writeText(input.value); say(statusId, "Copied.", "ok"); }
    catch (e) { say(statusId, "Press Ctrl+C to copy the selected text."); }
  }
  $("copy-callout").addEventListener("click", () => copy("callout-url", "callout-status"));
  $("copy-key").addEventListener("click", () => copy("new-key-value", "keys-status"));

  $("rotate-callout").addEventListener("click", (ev) => busy(ev.target, async () => {
    if (!window.confirm("Rotate the Ticket Notification URL? The current URL stops working at once; update your Extension Callout afterwards.")) return;
    try {
      const urls = await api("POST", "/callout-url/rotate");
      await followOwnChange();
      $("callout-url").value = urls.extension_callout_url;
      say("callout-status", urls.note || "Rotated.", "ok");
    } catch (e) { say("callout-status", e.message, "bad"); }
  }));

  $("register-webhooks").addEventListener("click", (ev) => busy(ev.target, async () => {
    say("webhooks-status", "Registering in Autotask…");
    try {
      const w = await api("POST", "/webhooks");
      await followOwnChange();
      say("webhooks-status", "Registered: TicketWebhook " + w.ticket_webhook_id + ", TicketNoteWebhook " + w.note_webhook_id + ".", "ok");
    } catch (e) { say("webhooks-status", e.message, "bad"); }
  }));

  $("unregister-webhooks").addEventListener("click", (ev) => busy(ev.target, async () => {
    try { await api("DELETE", "/webhooks"); await followOwnChange(); say("webhooks-status", "Webhooks removed.", "ok"); }
    catch (e) { say("webhooks-status", e.message, "bad"); }
  }));

  /* ------------------------------------------------------------------ button keys */
  async function loadAdminTokens() {
    const tokens = await api("GET", "/admin-tokens");
    const body = $("admin-tokens-list");
    body.textContent = "";
    for (const k of tokens) {
      const actions = el("td", {});
      if (k.active) actions.append(el("button", { type: "button", class: "link", text: "Revoke", "data-token": k.id, onclick: (ev) => busy(ev.target, async () => {
        if (!window.confirm("Revoke the admin token \"" + (k.label || k.hint) + "\"? Whoever uses it is signed out at once.")) return;
        try { await api("DELETE", "/admin-tokens/" + encodeURIComponent(k.id)); say("admin-tokens-status", "Admin token revoked.", "ok"); await loadAdminTokens(); }
        catch (e) { say("admin-tokens-status", e.message, "bad"); }
      }) }));
      body.append(el("tr", {}, el("td", { text: k.label || "(no label)" }), el("td", { class: "mono", text: "…" + k.hint }),
        el("td", { text: when(k.created_at) }), el("td", { text: k.active ? "Active" : "Revoked " + when(k.revoked_at) }), actions));
    }
  }

  $("admin-token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    return busy($("create-admin-token"), async () => {
      try {
        clearFieldError("admin-token-label");
        const issued = await api("POST", "/admin-tokens", { label: $("admin-token-label").value.trim() });
        $("new-admin-token-value").value = issued.token;
        $("new-admin-token").hidden = false;
        $("admin-token-label").value = "";
        say("admin-tokens-status", "Admin token created.", "ok");
        await loadAdminTokens();
      } catch (e) {
        if (e.status === 422 && showFieldErrors(e, { label: "admin-token-label" })) say("admin-tokens-status", "Not created: see the message at the label.", "bad");
        else say("admin-tokens-status", e.message, "bad");
      }
    });
  });
  $("copy-admin-token").addEventListener("click", () => copy("new-admin-token-value", "admin-tokens-status"));

  async function loadKeys() {
    const keys = await api("GET", "/keys");
    const body = $("keys-list");
    body.textContent = "";
    if (!keys.length) body.append(el("tr", {}, el("td", { colspan: "5", class: "muted", text: "No button keys yet." })));
    for (const k of keys) {
      const actions = el("td", {});
      if (k.active) actions.append(el("button", { type: "button", class: "link", text: "Revoke", "data-key": k.id, onclick: (ev) => busy(ev.target, async () => {
        if (!window.confirm("Revoke the key \"" + (k.label || k.hint) + "\"? Agents using it stop working at once.")) return;
        try { await api("DELETE", "/keys/" + encodeURIComponent(k.id)); say("keys-status", "Key revoked.", "ok"); await loadKeys(); }
        catch (e) { say("keys-status", e.message, "bad"); }
      }) }));
      body.append(el("tr", {}, el("td", { text: k.label || "(no label)" }), el("td", { class: "mono", text: "…" + k.hint }),
        el("td", { text: when(k.created_at) }), el("td", { text: k.active ? "Active" : "Revoked " + when(k.revoked_at) }), actions));
    }
  }

  $("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    return busy($("create-key"), async () => {
      try {
        clearFieldError("key-label");
        const issued = await api("POST", "/keys", { label: $("key-label").value.trim() });
        $("new-key-value").value = issued.token;
        $("new-key").hidden = false;
        $("key-label").value = "";
        say("keys-status", "Key created.", "ok");
        await loadKeys();
      } catch (e) {
        if (e.status === 422 && showFieldErrors(e, { label: "key-label" })) say("keys-status", "Not created: see the message at the label.", "bad");
        else say("keys-status", e.message, "bad");
      }
    });
  });

  /* ------------------------------------------------------------------ Integration Test */
  const ICON = { pass: "✓", fail: "✗", skip: "–" };
  $("run-test").addEventListener("click", (ev) => busy(ev.target, async () => {
    const list = $("test-results");
    list.textContent = "";
    say("test-status", "Running the Integration Test…");
    try {
      const report = await api("POST", "/integration-test");
      for (const c of report.checks) {
        const msg = el("span", { class: "msg" }, c.message);
        if (c.hint) msg.append(el("span", { class: "hint", text: c.hint }));
        list.append(el("li", { class: c.status, "data-check": c.id, "data-status": c.status },
          el("span", { class: "icon", "aria-hidden": "true", text: ICON[c.status] || "?" }),
          el("span", { class: "name" }, el("span", { class: "sr-only", text: c.status + ": " }), c.name), msg));
      }
      const failed = report.checks.filter((c) => c.status === "fail").length;
      say("test-status", report.ok ? "All checks passed." : failed + " check(s) failed.", report.ok ? "ok" : "bad");
      if (settings && report.summary) { settings.last_integration_test = report.summary; renderStatus(); }
    } catch (e) { say("test-status", e.message, "bad"); }
  }));

  /* ------------------------------------------------------------------ rules replay */
  const OUTCOME_LABELS = {
    unchanged: "Unchanged", changed: "Would change", blocked: "Blocked (exception)", error: "Error", not_run: "Not run",
    created: "Created", failed: "Failed", waiting: "Waiting", dead_letter: "Dead letter",
  };

  function badge(outcome) {
    return el("span", { class: "outcome " + outcome, text: OUTCOME_LABELS[outcome] || outcome });
  }

  function shown(value) { return value === null || value === undefined || value === "" ? "(empty)" : (typeof value === "string" ? value : JSON.stringify(value)); }

  function replaySummary(r) {
    if (!r.compiles) return "The rules do not compile: fix the syntax errors first.";
    const base = r.compared_with ? "compared with the active version " + r.compared_with : "compared with your defaults (no rules active)";
    let text = "Replayed on " + r.replayed + " press" + (r.replayed === 1 ? "" : "es") + ", " + base + ": " + r.changed + " would change, " +
      r.blocked + " blocked, " + r.failed + " fail" + (r.failed === 1 ? "s" : "") + ".";
    if (r.not_run) text += " " + r.not_run + " not replayed (time limit).";
    return text;
  }

  function showReplay(box, r) {
    const view = box.querySelector(".replay-view");
    view.textContent = "";
    view.append(el("p", { class: "status " + (r.ok ? "ok" : "bad"), "data-replay-summary": "", text: replaySummary(r) }));
    const body = el("tbody", {});
    for (const p of r.presses || []) {
      const changes = el("ul", { class: "changes" });
      for (const [name, c] of Object.entries(p.changes || {})) changes.append(el("li", { text: name + ": " + shown(c.before) + " → " + shown(c.after) }));
      const problem = el("td", { class: "error-cell" });
      if (p.error) {
        if (p.error.line) problem.append(el("button", { type: "button", class: "link", text: "Line " + p.error.line, onclick: () => {
          const dialog = $("replay-dialog"); if (dialog.open) { focusAfter = source; dialog.close(); }
          goToLine(p.error.line, p.error.column);
        } }));
        problem.append(p.error.message);
      } else if (p.exception) problem.append("User would see: " + p.exception);
      body.append(el("tr", { "data-outcome": p.outcome, "data-press": p.submission_id },
        el("td", { text: p.sample ? "Sample from your defaults" : when(p.created_at) }),
        el("td", { text: p.sample ? "" : (p.email + " · " + p.hostname) }),
        el("td", {}, badge(p.outcome)),
        el("td", {}, Object.keys(p.changes || {}).length ? changes : "–"),
        problem));
    }
    const table = el("table", { class: "replay" }, el("thead", {}, el("tr", {},
      el("th", { scope: "col", text: "Press" }), el("th", { scope: "col", text: "User · machine" }), el("th", { scope: "col", text: "Result" }),
      el("th", { scope: "col", text: "What would change" }), el("th", { scope: "col", text: "Error or message" }))), body);
    view.append(el("div", { class: "scroll" }, table));
    box.hidden = false;
  }

  function confirmFailingRules(body, refusal) {
    const dialog = $("replay-dialog");
    $("replay-dialog-message").textContent = refusal.message;
    showReplay(dialog, refusal.replay);
    showReplay($("rules-replay"), refusal.replay);
    return new Promise((resolve) => {
      const done = (value) => { $("replay-cancel").onclick = null; $("replay-save-anyway").onclick = null; dialog.onclose = null; dialog.onkeydown = null; if (dialog.open) dialog.close(); resolve(value); };
      $("replay-cancel").onclick = () => { say("rules-status", "Not saved: the rules fail on recent presses (see the table below).", "bad"); done(null); };
      dialog.onclose = () => { say("rules-status", "Not saved: the rules fail on recent presses (see the table below).", "bad"); done(null); };
      // showModal makes the page behind inert; Tab also cycles inside the dialog instead of leaving for the browser
      dialog.onkeydown = (ev) => {
        if (ev.key !== "Tab") return;
        const items = [...dialog.querySelectorAll("button, [href], input, select, textarea")].filter((x) => !x.disabled && x.offsetParent !== null);
        if (!items.length) return;
        const first = items[0], last = items[items.length - 1];
        if (!ev.shiftKey && document.activeElement === last) { ev.preventDefault(); first.focus(); }
        else if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); }
      };
      $("replay-save-anyway").onclick = async () => {
        try { done(await api("POST", "/rules", Object.assign({ confirm: true }, body))); }
        catch (e) { say("rules-status", e.message, "bad"); done(null); }
      };
      focusAfter = $("save-rules");  // the native modal traps focus and closes on Esc; focus then returns here
      dialog.showModal();
      $("replay-cancel").focus();
    });
  }

  $("replay-rules").addEventListener("click", (ev) => rulesAction(ev.target, async () => {
    say("rules-status", "Replaying on recent presses…");
    const r = await api("POST", "/rules/replay", { source: source.value });
    showProblems(r.errors, r.warnings);
    showReplay($("rules-replay"), r);
    say("rules-status", replaySummary(r), r.ok ? "ok" : "bad");
  }));

  /* ------------------------------------------------------------------ recent presses and the 24 h summary */
  let pressCursor = null;
  let pressQuery = "";

  async function loadSummary() {
    const box = $("summary-text");
    try {
      const s = await api("GET", "/submissions/summary?hours=24");
      box.textContent = "";
      const bad = s.failed + s.blocked + s.dead_letter;
      const count = (n, label, outcome) => el("button", { type: "button", class: "link count" + (n ? " bad" : ""), "data-count": outcome, text: n + " " + label,
        onclick: () => { $("presses-outcome").value = outcome; $("presses-search").value = ""; loadPresses(false); $("presses").scrollIntoView(); } });
      box.append(count(s.failed, "failed", "failed"), " · ", count(s.blocked, "blocked", "blocked"), " · ",
        count(s.dead_letter, "waiting in the dead-letter queue", "dead_letter"),
        " of " + s.total + (s.truncated ? "+" : "") + " presses" + (s.with_errors ? "; " + s.with_errors + " ticket(s) created with fallbacks." : "."));
      box.className = bad ? "status bad" : "status ok";
    } catch (e) { box.textContent = "Could not load the last 24 hours: " + e.message; box.className = "status bad"; }
  }

  function why(p) {
    if (p.blocked_text) return "Blocked: " + p.blocked_text;
    if (p.rules_errors.length) return "Rules error: " + p.rules_errors[0];
    if (p.outcome === "created" && p.submission_errors.length) return p.submission_errors.length + " Submission Error(s): " + p.submission_errors[0];
    return p.last_error || p.user_message || "";
  }

  function pressRow(p) {
    return el("tr", { "data-press": p.id, "data-outcome": p.outcome },
      el("td", { text: when(p.created_at) }), el("td", {}, badge(p.outcome)),
      el("td", { text: p.ticket_number || "–" }), el("td", { text: p.name + " <" + p.email + ">" }),
      el("td", { text: p.hostname }), el("td", { class: "why", text: why(p) }),
      el("td", {}, el("button", { type: "button", class: "link", text: "Details", "aria-label": "Details of the press from " + p.email + " at " + when(p.created_at), onclick: () => showPress(p.id) })));
  }

  // Loads overlap (sign-in, Apply, a count in the summary, a re-queue): only the newest one may fill the table,
  // or an earlier, slower answer would add its rows to the newer ones (doubled or unfiltered rows).
  let pressLoad = 0;

  async function loadPresses(more) {
    const list = $("presses-list");
    const load = more ? pressLoad : ++pressLoad;
    if (!more) {
      const params = new URLSearchParams();
      if ($("presses-outcome").value) params.set("outcome", $("presses-outcome").value);
      if ($("presses-search").value.trim()) params.set("q", $("presses-search").value.trim());
      pressQuery = params.toString(); pressCursor = null; list.textContent = "";
    }
    say("presses-status", "Loading presses…");
    try {
      const params = new URLSearchParams(pressQuery);
      if (more && pressCursor) params.set("cursor", pressCursor);
      const page = await api("GET", "/submissions" + (params.toString() ? "?" + params : ""));
      if (load !== pressLoad) return;  // a newer load has started (and cleared the table): this answer is stale
      for (const p of page.items) list.append(pressRow(p));
      pressCursor = page.next_cursor;
      $("presses-more").hidden = !pressCursor;
      const shownRows = list.querySelectorAll("tr[data-press]").length;
      if (!shownRows && !pressCursor) list.append(el("tr", {}, el("td", { colspan: "7", class: "muted", text: "No presses match." })));
      say("presses-status", shownRows + " press" + (shownRows === 1 ? "" : "es") + " shown" +
        (page.scan_limited ? "; the search stopped after reading " + page.scanned + " presses: load older ones to go on." : "."));
    } catch (e) { if (load === pressLoad) say("presses-status", e.message, "bad"); }
  }

  $("presses-form").addEventListener("submit", (ev) => { ev.preventDefault(); busy($("presses-apply"), () => loadPresses(false)); });
  $("presses-more").addEventListener("click", (ev) => busy(ev.target, () => loadPresses(true)));
  let pressOpener = null;
  function closePress() {
    $("press-detail").hidden = true;
    if (pressOpener && pressOpener.isConnected) pressOpener.focus();
    pressOpener = null;
  }
  $("press-close").addEventListener("click", closePress);
  $("press-detail").addEventListener("keydown", (ev) => { if (ev.key === "Escape") { ev.preventDefault(); closePress(); } });

  async function showPress(id) {
    const box = $("press-detail");
    if (document.activeElement && document.activeElement.closest && document.activeElement.closest("#presses-list")) pressOpener = document.activeElement;
    say("press-status", "");
    try {
      const d = await api("GET", "/submissions/" + encodeURIComponent(id));
      const facts = $("press-facts");
      facts.textContent = "";
      const fact = (label, value) => { if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) return; facts.append(el("dt", { text: label }), el("dd", { text: Array.isArray(value) ? value.join("\n") : String(value) })); };
      facts.append(el("dt", { text: "Outcome" }), el("dd", {}, badge(d.outcome)));
      fact("Ticket", d.ticket_number ? d.ticket_number + " (id " + d.ticket_id + ")" : null);
      fact("From", d.name + " <" + d.email + ">" + (d.contact_found ? "" : " (not found in Autotask: catch-all contact used)"));
      fact("Machine", d.hostname); fact("Company", d.company); fact("Subject", d.subject); fact("Message", d.msg);
      fact("Selections", d.selections); fact("Attachments", d.attachments);
      fact("Blocked with", d.blocked_text); fact("Rules errors", d.rules_errors); fact("Submission Errors", d.submission_errors);
      fact("Rule warnings", d.rule_warnings); fact("User was told", d.user_message); fact("Last error", d.last_error);
      fact("Attempts", String(d.attempts) + (d.requeues ? " (re-queued " + d.requeues + " time(s), last " + when(d.requeued_at) + ")" : ""));
      fact("Dead-lettered", d.dead_lettered_at ? when(d.dead_lettered_at) : null);
      fact("Received", when(d.created_at)); fact("Press id", d.id);
      const tl = $("press-timeline");
      tl.textContent = "";
      for (const e of d.timeline) tl.append(el("li", { class: e.visible ? null : "hidden-event" }, when(e.at) + " · " + e.text + (e.visible ? "" : " (admin only)")));
      const requeue = $("press-requeue");
      requeue.hidden = !d.can_requeue;
      requeue.onclick = () => busy(requeue, async () => {
        try {
          await api("POST", "/submissions/" + encodeURIComponent(d.id) + "/requeue");
          await showPress(d.id);
          say("press-status", "Re-queued: the dispatcher will try this press again now.", "ok");
          await Promise.allSettled([loadPresses(false), loadSummary()]);
        } catch (e) { say("press-status", e.message, "bad"); }
      });
      box.hidden = false;
      box.focus();
    } catch (e) { say("presses-status", e.message, "bad"); }
  }

  /* ------------------------------------------------------------------ unsaved changes */
  const dirty = new Set();
  for (const id of ["connection-form", "defaults-form", "notifications-form", "rules-on-error-form"]) {
    $(id).addEventListener("input", () => dirty.add(id));
    $(id).addEventListener("change", () => dirty.add(id));
  }
  source.addEventListener("input", () => dirty.add("rules"));
  window.addEventListener("beforeunload", (ev) => {
    if (dirty.size && !$("app").hidden) { ev.preventDefault(); ev.returnValue = ""; }
  });

  /* ------------------------------------------------------------------ start */
  renderGutter();
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved).catch(() => signOut("Sign in again."));
})();
