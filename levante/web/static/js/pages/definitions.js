// Workflows, workbooks and actions: lists, the definition (highlighted)
// beside its graph, and the form that starts an execution.

import { get, post, qs, decode } from "../api.js";
import { h, fill, timeCell, errorBox, notice, toast, badge } from "../dom.js";
import { highlightYaml } from "../highlight.js";
import { findWorkflow, workflowModel, drawGraph, legend } from "../graph.js";
import { parseYaml } from "../yaml.js";

function table(caption, cols, rows) {
  if (!rows.length) return h("div.empty", h("p", `No ${caption.toLowerCase()} yet.`));
  return h("div.table-wrap", h("table.list",
    h("caption.sr-only", caption),
    h("thead", h("tr", ...cols.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", rows.map((cells) => h("tr", cells.map((c, i) => h("td", { "data-label": cols[i] }, c)))))));
}

function filterBox(label, onInput) {
  const input = h("input#list-filter", { type: "search", placeholder: "type to filter" });
  input.addEventListener("input", () => onInput(input.value.trim().toLowerCase()));
  return h("div.filters.single", h("div.field", h("label", { for: "list-filter" }, label), input));
}

// ------------------------------------------------------------ workflows

export async function workflows(main) {
  document.title = "Workflows · Levante";
  const { workflows: items } = await get(`/workflows${qs({ sort_keys: "name", limit: 1000 })}`);
  const box = h("div");
  const show = (f) => fill(box, table("Workflows", ["Name", "Namespace", "Input", "Tags", "Updated"],
    items.filter((w) => !f || w.name.toLowerCase().includes(f)).map((w) => [
      h("a.strong", { href: `/ui/workflows/${w.id}` }, w.name), w.namespace || h("span.muted", "—"),
      h("code.small", w.input || ""), (w.tags || []).join(", "), timeCell(w.updated_at || w.created_at)])));
  show("");
  fill(main, h("div.page-head", h("h1", "Workflows")), filterBox("Filter by name", show), box);
}

export async function workflow(main, [ident], query, { navigate }) {
  const wf = await get(`/workflows/${encodeURIComponent(ident)}`);
  document.title = `${wf.name} · Workflows · Levante`;
  const body = safe(() => findWorkflow(wf.definition, wf.name));
  wf.reverseTasks = body && body.type === "reverse" ? Object.keys(body.tasks || {}) : null;
  const runs = h("div");
  fill(main,
    h("nav.crumbs", { "aria-label": "Breadcrumb" }, h("a", { href: "/ui/workflows" }, "Workflows"), " / ", h("span", wf.name)),
    h("div.page-head", h("h1", wf.name), wf.namespace ? h("span.tag", `namespace ${wf.namespace}`) : null),
    body?.description ? h("p.lead", String(body.description)) : null,
    h("div.split.halves",
      h("section.card", { "aria-labelledby": "def-title" }, h("h2#def-title", "Definition"), highlightYaml(wf.definition)),
      h("div.stack",
        h("section.card", { "aria-labelledby": "graph-title" }, h("h2#graph-title", "Graph"), graphOf(body, wf.name)),
        startForm(wf, navigate),
        runs)));
  get(`/executions${qs({ workflow_id: wf.id, sort_keys: "created_at", sort_dirs: "desc", limit: 10 })}`).then((r) => {
    if (!r.executions.length) return;
    fill(runs, h("section.card", { "aria-labelledby": "runs-title" },
      h("div.card-head", h("h2#runs-title", "Recent executions"),
        h("a.btn.small.ghost", { href: `/ui/${qs({ workflow: wf.name })}` }, "All of them")), h("ul.plain", r.executions.map((e) =>
      h("li", badge(e.state), " ", h("a.mono", { href: `/ui/executions/${e.id}` }, e.id.slice(0, 8)), " ", timeCell(e.created_at))))));
  }).catch(() => {});
}

function safe(fn) { try { return fn(); } catch (_) { return null; } }

function graphOf(body, name) {
  if (!body) return notice("The definition could not be drawn.");
  const model = workflowModel(body);
  if (!model.nodes.length) return notice("No tasks to draw.");
  return h("div", h("div.graph-wrap", drawGraph(model, { title: `Tasks of ${name}` }).element), legend(model.type));
}

/** Input fields from the workflow's interface: required names, then {name: default}. */
function inputFields(wf) {
  const iface = decode(wf.interface) || {};
  return (iface.input || []).map((item) => {
    if (typeof item === "string") return { name: item, required: true };
    const [name, def] = Object.entries(item)[0];
    return { name, required: false, default: def };
  });
}

function startForm(wf, navigate) {
  const fields = inputFields(wf);
  const form = h("form.card.start-form", { novalidate: true, "aria-labelledby": "start-title" });
  const controls = [];
  const rows = fields.map((f, i) => {
    const id = `in-${i}`;
    const errId = `${id}-err`;
    const kind = f.required ? "text" : typeof f.default === "boolean" ? "bool" : typeof f.default === "string" ? "string" : "json";
    let input;
    if (kind === "bool") input = h("input", { id, type: "checkbox", name: f.name, checked: f.default });
    else if (kind === "json" && f.default !== null && typeof f.default === "object") {
      input = h("textarea", { id, name: f.name, rows: Math.min(8, JSON.stringify(f.default, null, 2).split("\n").length), "aria-describedby": errId, spellcheck: "false" }, JSON.stringify(f.default, null, 2));
    } else {
      input = h("input", {
        id, type: "text", name: f.name, "aria-describedby": errId, autocomplete: "off", spellcheck: "false",
        value: kind === "string" ? f.default : kind === "json" ? JSON.stringify(f.default) : "",
        required: f.required, "aria-required": f.required ? "true" : null,
      });
    }
    const hint = kind === "text" ? "required · JSON, or text" : kind === "string" ? "text" : kind === "bool" ? "" : "JSON";
    const err = h("p.field-error", { id: errId, "aria-live": "polite" });
    controls.push({ f, kind, input, err });
    return h("div.field", { class: `field${kind === "bool" ? " check" : ""}`, dataset: { field: f.name } },
      kind === "bool" ? [input, h("label", { for: id }, f.name)]
        : [h("label", { for: id }, f.name, f.required ? h("span.req", { "aria-hidden": "true" }, " *") : null, hint ? h("span.hint", ` ${hint}`) : null), input],
      err);
  });
  const envSelect = h("select#start-env", { name: "env" }, h("option", { value: "" }, "none"));
  get(`/environments`).then((r) => envSelect.append(...r.environments.map((e) => h("option", { value: e.name }, e.name)))).catch(() => {});
  const desc = h("input#start-desc", { type: "text", name: "description", autocomplete: "off" });
  // A reverse workflow runs for a target task (the task_name parameter).
  const target = wf.reverseTasks ? h("select#start-target", { name: "task_name", required: true },
    ...wf.reverseTasks.map((t, i) => h("option", { value: t, selected: i === wf.reverseTasks.length - 1 }, t))) : null;
  const formErr = h("div.form-error", { role: "alert" });
  fill(form,
    h("h2#start-title", "Start an execution"),
    ...(fields.length ? rows : [h("p.muted", "This workflow takes no input.")]),
    target ? h("div.field", h("label", { for: "start-target" }, "Target task ", h("span.hint", "reverse workflow: runs this task and what it requires")), target) : null,
    h("details.more", h("summary", "Environment and description"),
      h("div.field", h("label", { for: "start-env" }, "Environment"), envSelect),
      h("div.field", h("label", { for: "start-desc" }, "Description"), desc)),
    formErr,
    h("button.btn.primary", { type: "submit" }, "▶ Start"));

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    fill(formErr);
    const input = {};
    let firstBad = null;
    for (const c of controls) {
      c.err.textContent = "";
      c.input.removeAttribute("aria-invalid");
      const raw = c.kind === "bool" ? c.input.checked : c.input.value;
      let msg = null;
      if (c.kind === "bool") input[c.f.name] = raw;
      else if (c.kind === "string") input[c.f.name] = raw;
      else if (c.kind === "text") {
        if (raw.trim() === "") msg = "Required: give a value.";
        else { try { input[c.f.name] = JSON.parse(raw); } catch (_) { input[c.f.name] = raw; } }
      } else {
        try { input[c.f.name] = JSON.parse(raw); } catch (e) { msg = `Not valid JSON (${e.message.replace(/^JSON\.parse: /, "")}).`; }
      }
      if (msg) {
        c.err.textContent = `✖ ${msg}`;
        c.input.setAttribute("aria-invalid", "true");
        firstBad ||= c.input;
      }
    }
    if (firstBad) { firstBad.focus(); return; }
    const params = {};
    if (envSelect.value) params.env = envSelect.value;
    if (wf.namespace) params.namespace = wf.namespace;
    if (target) params.task_name = target.value;
    const btn = form.querySelector("button[type=submit]");
    btn.disabled = true;
    try {
      const ex = await post("/executions", {
        workflow_id: wf.id, input: JSON.stringify(input), params: JSON.stringify(params), description: desc.value,
      });
      toast(`Execution ${ex.id.slice(0, 8)} started.`);
      navigate(`/ui/executions/${ex.id}`);
    } catch (err) {
      if (err.status === 401) return;
      // The server names the fields it refuses: show the message at each of them.
      let placed = false;
      for (const c of controls) {
        const re = new RegExp(`['"]${c.f.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}['"]`);
        if (re.test(err.message)) {
          c.err.textContent = `✖ ${err.message}`;
          c.input.setAttribute("aria-invalid", "true");
          if (!placed) c.input.focus();
          placed = true;
        }
      }
      if (!placed) fill(formErr, errorBox(err));
    } finally {
      btn.disabled = false;
    }
  });
  return form;
}

// ------------------------------------------------------------ workbooks

export async function workbooks(main) {
  document.title = "Workbooks · Levante";
  const { workbooks: items } = await get(`/workbooks`);
  fill(main, h("div.page-head", h("h1", "Workbooks")),
    table("Workbooks", ["Name", "Namespace", "Tags", "Updated"], items.map((w) => [
      h("a.strong", { href: `/ui/workbooks/${encodeURIComponent(w.name)}` }, w.name), w.namespace || h("span.muted", "—"),
      (w.tags || []).join(", "), timeCell(w.updated_at || w.created_at)])));
}

export async function workbook(main, [name]) {
  const wb = await get(`/workbooks/${encodeURIComponent(name)}`);
  document.title = `${wb.name} · Workbooks · Levante`;
  const doc = safe(() => parseYaml(wb.definition)) || {};
  const wfs = Object.entries(doc.workflows || {});
  const acts = Object.keys(doc.actions || {});
  const { workflows: stored } = await get(`/workflows${qs({ limit: 1000, fields: "name" })}`).catch(() => ({ workflows: [] }));
  const idOf = new Map(stored.map((w) => [w.name, w.id]));
  fill(main,
    h("nav.crumbs", { "aria-label": "Breadcrumb" }, h("a", { href: "/ui/workbooks" }, "Workbooks"), " / ", h("span", wb.name)),
    h("div.page-head", h("h1", wb.name)),
    h("div.split.halves",
      h("section.card", h("h2", "Definition"), highlightYaml(wb.definition)),
      h("div.stack", ...wfs.map(([wname, body]) => {
        const full = `${wb.name}.${wname}`;
        return h("section.card", h("h2", idOf.has(full) ? h("a", { href: `/ui/workflows/${idOf.get(full)}` }, full) : full),
          graphOf(body, full));
      }), acts.length ? h("section.card", h("h2", "Actions"), h("ul.plain", acts.map((a) =>
        h("li", h("a", { href: `/ui/actions/${encodeURIComponent(`${wb.name}.${a}`)}` }, `${wb.name}.${a}`))))) : null)));
}

// ------------------------------------------------------------ actions

export async function actions(main) {
  document.title = "Actions · Levante";
  const { actions: items } = await get(`/actions`);
  items.sort((a, b) => (a.definition ? 0 : 1) - (b.definition ? 0 : 1) || a.name.localeCompare(b.name));
  const box = h("div");
  const show = (f) => fill(box, table("Actions", ["Name", "Kind", "Input", "Description"],
    items.filter((a) => !f || a.name.toLowerCase().includes(f)).map((a) => [
      h("a.strong", { href: `/ui/actions/${encodeURIComponent(a.name)}` }, a.name),
      a.definition ? h("span.tag", "ad-hoc") : h("span.tag.muted", "built-in"),
      h("code.small", a.input || ""), a.description ? String(a.description).split("\n")[0].slice(0, 140) : ""])));
  show("");
  fill(main, h("div.page-head", h("h1", "Actions")), filterBox("Filter by name", show), box);
}

export async function action(main, [name]) {
  const a = await get(`/actions/${encodeURIComponent(name)}`);
  document.title = `${a.name} · Actions · Levante`;
  fill(main,
    h("nav.crumbs", { "aria-label": "Breadcrumb" }, h("a", { href: "/ui/actions" }, "Actions"), " / ", h("span", a.name)),
    h("div.page-head", h("h1", a.name), h("span.tag", a.definition ? "ad-hoc" : "built-in")),
    a.description ? h("p.lead.pre", a.description) : null,
    h("dl.facts", h("dt", "Input"), h("dd", h("code", a.input || "(none)"))),
    a.definition ? h("section.card", h("h2", "Definition"), highlightYaml(a.definition)) : null);
}

export { errorBox };
