// /ui/: executions, newest first, live; filters by state, workflow and time.

import { get, qs, follow } from "../api.js";
import { h, fill, badge, timeCell, shortId, duration, parseTime, errorBox, STATES, stateIcon, keepFocus } from "../dom.js";

const SINCE = [
  ["", "any time"], ["15m", "last 15 minutes"], ["1h", "last hour"], ["24h", "last 24 hours"], ["7d", "last 7 days"],
];
const SECONDS = { "15m": 900, "1h": 3600, "24h": 86400, "7d": 604800 };
const PAGE = 50;
const LIVE_MAX = 20;

function sinceText(since) {
  if (!SECONDS[since]) return "";
  const t = new Date(Date.now() - SECONDS[since] * 1000);
  return t.toISOString().slice(0, 19).replace("T", " ");
}

export async function list(main, _params, query, { navigate }) {
  document.title = "Executions · Levante";
  const filters = {
    state: query.get("state") || "",
    workflow: query.get("workflow") || "",
    since: query.get("since") || "",
    top: query.get("top") === "1",
  };
  const counts = h("ul.counts", { "aria-label": "Executions by state" });
  const tableBox = h("div.table-wrap");
  // Not a live region: a refresh every few seconds would keep interrupting screen readers.
  const status = h("p.live");
  const workflowInput = h("input#f-workflow", { type: "search", name: "workflow", value: filters.workflow, list: "wf-names", placeholder: "any workflow" });
  const stateSelect = h("select#f-state", { name: "state" },
    h("option", { value: "" }, "any state"),
    ...STATES.map((s) => h("option", { value: s, selected: s === filters.state }, `${stateIcon(s)} ${s}`)));
  const sinceSelect = h("select#f-since", { name: "since" },
    ...SINCE.map(([v, label]) => h("option", { value: v, selected: v === filters.since }, label)));
  const topBox = h("input#f-top", { type: "checkbox", name: "top", value: "1", checked: filters.top });
  const names = h("datalist#wf-names");
  const form = h("form.filters", { role: "search", "aria-label": "Filter executions" },
    h("div.field", h("label", { for: "f-state" }, "State"), stateSelect),
    h("div.field", h("label", { for: "f-workflow" }, "Workflow"), workflowInput, names),
    h("div.field", h("label", { for: "f-since" }, "Started"), sinceSelect),
    h("div.field.check", topBox, h("label", { for: "f-top" }, "Top-level only")),
    h("div.field.buttons", h("button.btn", { type: "submit" }, "Filter"),
      h("a.btn.ghost", { href: "/ui/" }, "Clear")));
  const apply = (ev) => {
    ev?.preventDefault();
    const q = qs({ state: stateSelect.value, workflow: workflowInput.value.trim(), since: sinceSelect.value, top: topBox.checked ? "1" : "" });
    navigate(`/ui/${q}`);
  };
  form.addEventListener("submit", apply);
  for (const el of [stateSelect, sinceSelect, topBox]) el.addEventListener("change", apply);

  fill(main,
    h("div.page-head", h("h1", "Executions"), status),
    counts, form, tableBox);

  get(`/workflows${qs({ fields: "name", limit: 1000 })}`)
    .then((r) => fill(names, ...r.workflows.map((w) => h("option", { value: w.name }))))
    .catch(() => {});

  const base = () => ({
    workflow_name: filters.workflow,
    created_at: filters.since ? `gte:${sinceText(filters.since)}` : "",
    task_execution_id: filters.top ? "null" : "",
  });
  let streams = new Map();
  let timer = null;
  let pending = null;
  let gone = false;
  let lastKey = null;
  let shown = PAGE;

  async function refresh() {
    if (gone) return;
    try {
      const [page, all] = await Promise.all([
        get(`/executions${qs({ ...base(), state: filters.state, sort_keys: "created_at", sort_dirs: "desc", limit: shown })}`),
        get(`/executions${qs({ ...base(), fields: "state", sort_keys: "created_at", sort_dirs: "desc", limit: 1000 })}`),
      ]);
      if (gone) return;
      // Re-draw only what changed, keeping the keyboard focus where it was.
      const key = JSON.stringify([all.executions.map((e) => e.state), page.executions.map((e) => [e.id, e.state, e.updated_at])]);
      if (key !== lastKey) {
        lastKey = key;
        keepFocus(counts, () => renderCounts(all.executions, !!all.next));
        keepFocus(tableBox, () => renderTable(page.executions, !!page.next));
      }
      watch(page.executions);
      status.textContent = `● Live · updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (err.status === 401 || gone) return;
      fill(tableBox, errorBox(err));
      status.textContent = "Not live: the last refresh failed.";
    }
  }

  function soon() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; refresh(); }, 300);
  }

  function renderCounts(items, more) {
    const by = {};
    for (const e of items) by[e.state] = (by[e.state] || 0) + 1;
    const chip = (state, n, label) => {
      const q = qs({ state, workflow: filters.workflow, since: filters.since, top: filters.top ? "1" : "" });
      const current = (filters.state || "") === (state || "");
      return h("li", h("a.count", {
        href: `/ui/${q}`, class: `count state-${(state || "all").toLowerCase()}`, "aria-current": current ? "true" : null,
        dataset: { state: state || "ALL" },
      }, h("span.n", String(n)), " ", h("span.label", label)));
    };
    fill(counts, chip("", items.length + (more ? "+" : ""), "all"),
      ...STATES.filter((s) => by[s]).map((s) => chip(s, by[s], `${stateIcon(s)} ${s.toLowerCase()}`)));
  }

  function renderTable(items, more) {
    if (!items.length) {
      fill(tableBox, h("div.empty", h("p", "No executions match."),
        h("p", "Start one from a ", h("a", { href: "/ui/workflows" }, "workflow"), ".")));
      return;
    }
    const rows = items.map((e) => {
      const start = parseTime(e.created_at);
      const end = ["SUCCESS", "ERROR", "CANCELLED"].includes(e.state) ? parseTime(e.updated_at) : Date.now();
      return h("tr", { dataset: { id: e.id, state: e.state } },
        h("td", { "data-label": "State" }, badge(e.state)),
        h("td", { "data-label": "Workflow" }, h("a.strong", { href: `/ui/executions/${e.id}` }, e.workflow_name),
          e.task_execution_id ? h("span.tag", { title: "started by a task of another execution" }, "sub") : null,
          e.description ? h("div.muted.small", e.description.slice(0, 120)) : null),
        h("td", { "data-label": "ID" }, h("a.mono", { href: `/ui/executions/${e.id}`, title: e.id }, shortId(e.id))),
        h("td", { "data-label": "Started" }, timeCell(e.created_at)),
        h("td", { "data-label": "Duration" }, duration(end - start)),
        h("td.info", { "data-label": "Info" }, e.state_info ? h("span", { class: e.state === "ERROR" ? "err-text" : "" }, e.state_info.slice(0, 160)) : ""));
    });
    fill(tableBox, h("table.list.executions",
      h("caption.sr-only", "Executions, newest first"),
      h("thead", h("tr", ...["State", "Workflow", "ID", "Started", "Duration", "Info"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", rows)),
    more ? h("p.more", h("span.muted", `The newest ${items.length} are shown. `),
      shown < 1000 ? h("button.btn.small", { type: "button", onclick: () => { shown += PAGE; lastKey = null; refresh(); } }, `Show ${PAGE} more`) : null)
      : null);
  }

  // Follow the running ones; any of their events refreshes the list.
  function watch(items) {
    const want = new Set(items.filter((e) => !["SUCCESS", "ERROR", "CANCELLED"].includes(e.state)).slice(0, LIVE_MAX).map((e) => e.id));
    for (const [id, stop] of streams) if (!want.has(id)) { stop(); streams.delete(id); }
    for (const id of want) {
      if (streams.has(id)) continue;
      let first = true;
      streams.set(id, follow(id, () => { if (first) { first = false; return; } soon(); }, () => { streams.delete(id); soon(); }));
    }
  }

  await refresh();
  // New executions have no stream yet: look for them now and then.
  timer = setInterval(() => { if (!document.hidden) refresh(); }, 4000);
  return () => {
    gone = true;
    clearInterval(timer);
    clearTimeout(pending);
    for (const stop of streams.values()) stop();
    streams = new Map();
  };
}
