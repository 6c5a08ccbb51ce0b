// /ui/executions/{id}: the graph coloured by live task states, a timeline,
// task details, sub-executions, and the controls (pause, resume, cancel,
// rerun or skip a failed task).

import { get, put, post, qs, follow, decode } from "../api.js";
import {
  h, fill, badge, timeCell, shortId, duration, parseTime, jsonBlock, errorBox, actionButton, toast, stateIcon, notice, keepFocus,
} from "../dom.js";
import { findWorkflow, workflowModel, drawGraph, legend } from "../graph.js";

const ENDED = ["SUCCESS", "ERROR", "CANCELLED"];

export async function show(main, [id], query, { navigate }) {
  let ex = await get(`/executions/${encodeURIComponent(id)}`);
  document.title = `${ex.workflow_name} ${shortId(ex.id)} · Levante`;
  let tasks = [];
  let selected = query.get("task");
  let graph = null;
  let gone = false;
  let pending = null;
  let parentLink = null;

  const head = h("div.page-head");
  const controls = h("div.controls", { role: "toolbar", "aria-label": "Execution controls" });
  const facts = h("dl.facts");
  const infoBox = h("div");
  const graphBox = h("div.graph-wrap", { tabindex: "-1" });
  const timeline = h("div.timeline");
  const taskTable = h("div.table-wrap");
  const detail = h("section.task-detail.card", { "aria-labelledby": "task-detail-title", tabindex: "-1" });
  const subs = h("div");
  const live = h("p.live", { role: "status", "aria-live": "polite" });
  const ioBox = h("div.io");
  const legendBox = h("div");

  fill(main,
    h("nav.crumbs", { "aria-label": "Breadcrumb" }, h("a", { href: "/ui/" }, "Executions"), " / ", h("span", shortId(id))),
    head, controls, infoBox, facts,
    h("div.split",
      h("section.card.graph-card", { "aria-labelledby": "graph-title" },
        h("div.card-head", h("h2#graph-title", "Graph"), live), graphBox, legendBox),
      detail),
    h("section.card", { "aria-labelledby": "timeline-title" }, h("h2#timeline-title", "Timeline"), timeline),
    h("section.card", { "aria-labelledby": "tasks-title" }, h("h2#tasks-title", "Tasks"), taskTable),
    subs,
    h("section.card", { "aria-labelledby": "io-title" }, h("h2#io-title", "Input, output and parameters"), ioBox));

  function renderHead() {
    fill(head,
      h("h1", h("span.muted.small-caps", "Execution "), ex.workflow_name),
      badge(ex.state));
    head.dataset.state = ex.state;
    const btns = [];
    const setState = (state, msg) => async () => {
      ex = await put(`/executions/${ex.id}`, { state });
      toast(msg);
      renderAll();
      soon();
    };
    if (ex.state === "RUNNING") btns.push(actionButton("‖ Pause", setState("PAUSED", "Execution paused."), { cls: "" }));
    if (ex.state === "PAUSED") btns.push(actionButton("▶ Resume", setState("RUNNING", "Execution resumed."), { cls: "primary" }));
    if (!ENDED.includes(ex.state)) {
      btns.push(actionButton("⊘ Cancel", setState("CANCELLED", "Execution cancelled."), { cls: "danger", confirmText: "Cancel this execution?" }));
    }
    btns.push(actionButton("↻ Run again", async () => {
      const created = await post("/executions", { source_execution_id: ex.id });
      toast("New execution started.");
      navigate(`/ui/executions/${created.id}`);
    }, { cls: "ghost", title: "Start a new execution with the same workflow, input and parameters" }));
    fill(controls, ...btns);
    fill(infoBox, ex.state_info
      ? h("div.alert", { class: `alert ${ex.state === "ERROR" ? "error" : "info"}`, role: ex.state === "ERROR" ? "alert" : "status" },
        h("strong", ex.state === "ERROR" ? "✖ Failed: " : "ℹ "), h("span.pre", ex.state_info))
      : null);
  }

  async function renderFacts() {
    const start = parseTime(ex.created_at);
    const end = ENDED.includes(ex.state) ? parseTime(ex.updated_at) : Date.now();
    const items = [
      ["ID", h("code", ex.id)],
      ["Workflow", h("a", { href: `/ui/workflows/${encodeURIComponent(ex.workflow_id || ex.workflow_name)}` }, ex.workflow_name)],
      ["Started", timeCell(ex.created_at)],
      ["Duration", duration(end - start)],
    ];
    if (ex.description) items.push(["Description", ex.description]);
    if (ex.task_execution_id) {
      if (!parentLink) {   // read once: the parent of an execution never changes
        parentLink = h("span", "…");
        get(`/tasks/${ex.task_execution_id}`).then((t) => fill(parentLink,
          h("a", { href: `/ui/executions/${t.workflow_execution_id}?task=${t.id}` }, `${t.workflow_name} › ${t.name}`)))
          .catch(() => fill(parentLink, shortId(ex.task_execution_id)));
      }
      items.push(["Parent", parentLink]);
    }
    if (ex.root_execution_id && ex.root_execution_id !== ex.id) {
      items.push(["Root", h("a.mono", { href: `/ui/executions/${ex.root_execution_id}` }, shortId(ex.root_execution_id))]);
    }
    fill(facts, ...items.flatMap(([k, v]) => [h("dt", k), h("dd", v)]));
  }

  function renderIO() {
    const blocks = [["Input", ex.input], ["Output", ex.output], ["Parameters", ex.params]];
    fill(ioBox, h("div.grid3", ...blocks.map(([k, v]) => h("div", h("h3", k), jsonBlock(v ?? "")))));
  }

  // ---- graph
  async function buildGraph() {
    try {
      const wf = await get(`/workflows/${encodeURIComponent(ex.workflow_id || ex.workflow_name)}`);
      const body = findWorkflow(wf.definition, ex.workflow_name);
      if (!body) throw new Error("the workflow was not found in its definition");
      const model = workflowModel(body);
      if (!model.nodes.length) throw new Error("the workflow has no tasks");
      graph = drawGraph(model, { onSelect: (name) => selectByName(name), title: `Tasks of ${ex.workflow_name}` });
      fill(graphBox, graph.element);
      fill(legendBox, legend(model.type));
      paintGraph();
    } catch (err) {
      if (err.status === 401) throw err;
      fill(graphBox, notice(`No graph: ${err.message}. The tasks are listed below.`, "info"));
    }
  }

  function latestByName() {
    const by = new Map();
    for (const t of tasks) by.set(t.name, t);   // tasks come oldest first
    return by;
  }

  function paintGraph() {
    if (!graph) return;
    const by = latestByName();
    const sel = tasks.find((t) => t.id === selected);
    for (const [name, t] of by) graph.setState(name, t.state, sel && sel.name === name);
  }

  function selectByName(name) {
    const t = latestByName().get(name);
    if (t) select(t.id);
    else {
      selected = null;
      graph?.select(name);
      fill(detail, h("h2#task-detail-title", name), h("p.muted", "This task has not run in this execution."));
    }
  }

  function select(taskId, focus = true) {
    selected = taskId;
    const url = new URL(location.href);
    url.searchParams.set("task", taskId);
    history.replaceState(null, "", url.pathname + url.search);
    paintGraph();
    renderTaskTable();
    renderDetail(focus);
  }

  // ---- timeline
  function renderTimeline() {
    if (!tasks.length) { fill(timeline, h("p.muted", "No task has started yet.")); return; }
    const t0 = parseTime(ex.created_at);
    const now = Date.now();
    const spans = tasks.map((t) => {
      const s = parseTime(t.started_at) ?? parseTime(t.created_at) ?? t0;
      const e = parseTime(t.finished_at) ?? (ENDED.includes(t.state) || t.state === "SKIPPED" ? parseTime(t.updated_at) : now);
      return { t, s, e: Math.max(e ?? s, s) };
    });
    const end = Math.max(...spans.map((x) => x.e), t0 + 1000);
    const total = end - t0;
    const rows = spans.map(({ t, s, e }) => {
      const left = ((s - t0) / total) * 100;
      const width = Math.max(((e - s) / total) * 100, 0.8);
      return h("li.tl-row", { dataset: { id: t.id, state: t.state } },
        h("button.tl-name.linkish", { type: "button", onclick: () => select(t.id) }, t.name),
        h("div.tl-track", h("span.tl-bar", {
          class: `tl-bar state-${t.state.toLowerCase()}`,
          style: `margin-left:${left.toFixed(2)}%;width:${width.toFixed(2)}%`,
          title: `${t.name}: ${t.state}, ${duration(e - s)}`,
        })),
        h("span.tl-dur", `${stateIcon(t.state)} ${duration(e - s)}`));
    });
    fill(timeline, h("ol.tl", { "aria-label": `Task runs over ${duration(total)}` }, rows),
      h("div.tl-axis", h("span", "0 s"), h("span", duration(total))));
  }

  // ---- task table
  function renderTaskTable() {
    if (!tasks.length) { fill(taskTable, h("p.muted", "No tasks yet.")); return; }
    fill(taskTable, h("table.list.tasks",
      h("thead", h("tr", ...["Task", "State", "Started", "Duration", "Info"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", tasks.map((t) => {
        const s = parseTime(t.started_at), e = parseTime(t.finished_at) ?? (ENDED.includes(t.state) ? parseTime(t.updated_at) : Date.now());
        return h("tr", { class: t.id === selected ? "selected" : "", dataset: { id: t.id, task: t.name, state: t.state } },
          h("td", { "data-label": "Task" }, h("button.linkish.strong", { type: "button", onclick: () => select(t.id), "aria-pressed": t.id === selected ? "true" : "false" }, t.name),
            t.type === "WORKFLOW" ? h("span.tag", "sub-workflow") : null),
          h("td", { "data-label": "State" }, badge(t.state)),
          h("td", { "data-label": "Started" }, timeCell(t.started_at || t.created_at)),
          h("td", { "data-label": "Duration" }, s ? duration(e - s) : "—"),
          h("td.info", { "data-label": "Info" }, t.state_info ? h("span", { class: t.state === "ERROR" ? "err-text" : "" }, t.state_info.slice(0, 140)) : ""));
      }))));
  }

  // ---- task details
  const detailKey = (t) => (t ? `${t.id}|${t.state}|${t.updated_at}` : "");
  let shownDetail = null;

  async function renderDetail(focus) {
    const base = tasks.find((t) => t.id === selected);
    shownDetail = detailKey(base);
    if (!base) {
      fill(detail, h("h2#task-detail-title", "Task details"),
        h("p.muted", "Choose a task in the graph or in the list (Tab to a task, Enter to open it)."));
      return;
    }
    const [t, acts, kids] = await Promise.all([
      get(`/tasks/${base.id}`),
      get(`/tasks/${base.id}/action_executions`).catch(() => ({ action_executions: [] })),
      base.type === "WORKFLOW" ? get(`/tasks/${base.id}/workflow_executions`).catch(() => ({ executions: [] })) : { executions: [] },
    ]);
    if (gone || selected !== base.id) return;
    const btns = [];
    if (t.state === "ERROR") {
      btns.push(actionButton("↻ Rerun task", async () => {
        await put(`/tasks/${t.id}`, { state: "RUNNING", reset: true });
        toast(`Task ${t.name} rerun.`);
        soon();
      }, { cls: "primary" }));
      btns.push(actionButton("↷ Skip task", async () => {
        await put(`/tasks/${t.id}`, { state: "SKIPPED" });
        toast(`Task ${t.name} skipped.`);
        soon();
      }, { confirmText: `Skip task ${t.name}? The workflow goes on as if it had succeeded.` }));
    }
    const rc = decode(t.runtime_context) || {};
    const wi = rc.with_items_context;
    const actions = acts.action_executions || [];
    fill(detail,
      h("div.card-head", h("h2#task-detail-title", `Task ${t.name}`), badge(t.state)),
      btns.length ? h("div.controls", ...btns) : null,
      t.state_info ? h("div.alert", { class: `alert ${t.state === "ERROR" ? "error" : "info"}`, role: "note" },
        h("strong", t.state === "ERROR" ? "✖ Error: " : "ℹ "), h("span.pre", t.state_info)) : null,
      h("dl.facts.compact",
        h("dt", "ID"), h("dd", h("code", t.id)),
        h("dt", "Type"), h("dd", t.type),
        h("dt", "Started"), h("dd", timeCell(t.started_at)),
        h("dt", "Finished"), h("dd", timeCell(t.finished_at)),
        wi ? [h("dt", "Items"), h("dd", `${wi.index} of ${wi.count} done`)] : null),
      h("h3", "Result"), jsonBlock(t.result, t.state === "ERROR" ? "is-error" : ""),
      h("h3", "Published"), jsonBlock(t.published),
      kids.executions.length ? [h("h3", "Sub-workflow executions"), h("ul.plain", kids.executions.map((k) =>
        h("li", badge(k.state), " ", h("a", { href: `/ui/executions/${k.id}` }, `${k.workflow_name} ${shortId(k.id)}`))))] : null,
      actions.length ? [h("h3", `Action executions (${actions.length})`), h("ol.actions", actions.map((a, i) => actionItem(a, i, actions.length, !!wi)))] : null);
    if (focus) detail.focus({ preventScroll: true });
  }

  // One action execution per attempt (retries), or per item (with-items).
  function actionItem(a, i, n, perItem) {
    const body = h("div.action-body", h("p.muted", "Loading…"));
    const which = perItem ? ` run ${i + 1} of ${n}` : ` attempt ${i + 1} of ${n}`;
    const det = h("details.action", { dataset: { state: a.state } },
      h("summary", badge(a.state), " ", h("strong", a.name), n > 1 ? h("span.muted", which) : null,
        " ", timeCell(a.created_at)),
      body);
    det.addEventListener("toggle", async () => {
      if (!det.open || det.dataset.loaded) return;
      det.dataset.loaded = "1";
      try {
        const full = await get(`/action_executions/${a.id}`);
        fill(body,
          full.state_info ? h("p", { class: full.state === "ERROR" ? "err-text" : "" }, full.state_info) : null,
          h("h4", "Input"), jsonBlock(full.input), h("h4", "Output"), jsonBlock(full.output, full.state === "ERROR" ? "is-error" : ""));
      } catch (err) { fill(body, errorBox(err)); }
    });
    return h("li", det);
  }

  async function renderSubs() {
    try {
      const r = await get(`/executions/${ex.id}/executions${qs({ max_depth: 1 })}`);
      const kids = r.executions.filter((k) => k.id !== ex.id);
      fill(subs, kids.length ? h("section.card", { "aria-labelledby": "subs-title" }, h("h2#subs-title", "Sub-executions"),
        h("ul.plain", kids.map((k) => h("li", badge(k.state), " ", h("a", { href: `/ui/executions/${k.id}` }, k.workflow_name), " ", h("span.mono.muted", shortId(k.id)))))) : null);
    } catch (_) { /* optional */ }
  }

  function renderAll() {
    keepFocus(controls, renderHead, true);
    renderFacts();
    keepFocus(timeline, renderTimeline);
    keepFocus(taskTable, renderTaskTable);
    renderIO();
    paintGraph();
  }

  async function refresh() {
    if (gone) return;
    try {
      const [e, t] = await Promise.all([get(`/executions/${ex.id}`), get(`/executions/${ex.id}/tasks`)]);
      if (gone) return;
      ex = e;
      tasks = t.tasks;
      renderAll();
      // Re-read the details only when the chosen task changed (opened
      // attempts and the focus inside the panel stay as they are).
      if (selected && detailKey(tasks.find((x) => x.id === selected)) !== shownDetail) renderDetail(false);
      renderSubs();
      ensureFollow();
    } catch (err) {
      if (err.status !== 401) toast(err.message, "error");
    }
  }

  function soon() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; refresh(); }, 250);
  }

  // Colour the graph from the events at once; read the details a moment later.
  function onEvent(name, data) {
    if (gone) return;
    if (name === "state") {
      for (const t of data.tasks || []) {
        const known = tasks.find((x) => x.id === t.id);
        if (known) known.state = t.state;
      }
    } else if (data.task_id) {
      const known = tasks.find((x) => x.id === data.task_id);
      if (known) known.state = data.state;
      else tasks.push({ id: data.task_id, name: data.task_name, state: data.state, type: "ACTION" });
    } else if (data.execution_id === ex.id && data.state) {
      ex.state = data.state;
      keepFocus(controls, renderHead, true);
    }
    paintGraph();
    live.textContent = `● Live · ${name === "state" ? "connected" : `${name.replace("_", " ").toLowerCase()}${data.task_name ? ` ${data.task_name}` : ""}`}`;
    soon();
  }

  // Follow the event stream while the execution can still change (a rerun
  // or a resume after it ended starts following again).
  let stop = null;
  function ensureFollow() {
    if (stop || gone) return;
    if (ENDED.includes(ex.state)) { live.textContent = `${stateIcon(ex.state)} Finished`; return; }
    live.textContent = "● Live";
    stop = follow(ex.id, onEvent, () => { stop = null; live.textContent = "Finished"; soon(); });
  }

  const [, t] = await Promise.all([buildGraph(), get(`/executions/${ex.id}/tasks`)]);
  tasks = t.tasks;
  if (!selected) {
    const failed = tasks.find((x) => x.state === "ERROR");
    if (failed) selected = failed.id;
  }
  renderAll();
  renderDetail(false);
  renderSubs();
  ensureFollow();
  return () => { gone = true; stop?.(); clearTimeout(pending); };
}
