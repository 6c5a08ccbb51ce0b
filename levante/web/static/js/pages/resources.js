// Environments and triggers (cron triggers with their next run times, event triggers).

import { get, decode } from "../api.js";
import { h, fill, timeCell, jsonBlock, parseTime } from "../dom.js";

function table(caption, cols, rows, empty) {
  if (!rows.length) return h("div.empty", h("p", empty));
  return h("div.table-wrap", h("table.list",
    h("caption.sr-only", caption),
    h("thead", h("tr", ...cols.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", rows.map((cells) => h("tr", cells.map((c, i) => h("td", { "data-label": cols[i] }, c)))))));
}

export async function environments(main) {
  document.title = "Environments · Levante";
  const { environments: items } = await get(`/environments`);
  fill(main, h("div.page-head", h("h1", "Environments")),
    table("Environments", ["Name", "Description", "Variables", "Updated"], items.map((e) => [
      h("a.strong", { href: `/ui/environments/${encodeURIComponent(e.name)}` }, e.name), e.description || "",
      Object.keys(decode(e.variables) || {}).join(", "), timeCell(e.updated_at || e.created_at)]),
    "No environments yet. Create one with levante environment-create FILE."));
}

export async function environment(main, [name]) {
  const e = await get(`/environments/${encodeURIComponent(name)}`);
  document.title = `${e.name} · Environments · Levante`;
  fill(main,
    h("nav.crumbs", { "aria-label": "Breadcrumb" }, h("a", { href: "/ui/environments" }, "Environments"), " / ", h("span", e.name)),
    h("div.page-head", h("h1", e.name)),
    e.description ? h("p.lead", e.description) : null,
    h("section.card", h("h2", "Variables"), jsonBlock(e.variables)));
}

function untilText(value) {
  const t = parseTime(value);
  if (t === null) return h("span.muted", "—");
  const s = Math.round((t - Date.now()) / 1000);
  const rel = s <= 0 ? "due now" : s < 60 ? `in ${s} s` : s < 3600 ? `in ${Math.round(s / 60)} min` : s < 86400 ? `in ${Math.round(s / 3600)} h` : `in ${Math.round(s / 86400)} days`;
  return h("time", { datetime: new Date(t).toISOString() }, `${value} UTC `, h("span.muted", `(${rel})`));
}

export async function triggers(main) {
  document.title = "Triggers · Levante";
  const [cron, events, wfs] = await Promise.all([
    get(`/cron_triggers`), get(`/event_triggers`), get(`/workflows?fields=name&limit=1000`).catch(() => ({ workflows: [] })),
  ]);
  const wfName = new Map(wfs.workflows.map((w) => [w.id, w.name]));
  const wfLink = (id, name) => h("a", { href: `/ui/workflows/${encodeURIComponent(id || name)}` }, name || wfName.get(id) || id);
  const crons = [...cron.cron_triggers].sort((a, b) => (a.next_execution_time || "").localeCompare(b.next_execution_time || ""));
  fill(main, h("div.page-head", h("h1", "Triggers")),
    h("section.card", { "aria-labelledby": "cron-title" }, h("h2#cron-title", "Cron triggers"),
      table("Cron triggers, next first", ["Name", "Workflow", "Pattern", "Next run", "Remaining", "Input"], crons.map((c) => [
        h("strong", c.name), wfLink(c.workflow_id, c.workflow_name), h("code", c.pattern || "(once)"),
        untilText(c.next_execution_time), c.remaining_executions ?? "∞", h("code.small", c.workflow_input || "{}")]),
      "No cron triggers. Create one with levante cron-trigger-create.")),
    h("section.card", { "aria-labelledby": "event-title" }, h("h2#event-title", "Event triggers"),
      table("Event triggers", ["Name", "Workflow", "Exchange", "Topic", "Event", "Input"], events.event_triggers.map((e) => [
        h("strong", e.name), wfLink(e.workflow_id), e.exchange, h("code", e.topic), h("code", e.event), h("code.small", e.workflow_input || "{}")]),
      "No event triggers. Create one with levante event-trigger-create.")));
}
