// A workflow drawn as a layered graph (SVG): tasks are boxes, transitions are
// arrows. on-success, on-error and on-complete are told apart by colour, line
// style and a text label; joins and with-items are marked with a badge.

import { parseYaml } from "./yaml.js";
import { svg, stateIcon } from "./dom.js";

const ENGINE_COMMANDS = new Set(["fail", "succeed", "pause", "noop"]);
const DOC_KEYS = new Set(["version", "name", "description", "tags", "workflows", "actions", "namespace"]);
export const EDGE_KINDS = {
  "on-success": { label: "success", cls: "edge-success" },
  "on-error": { label: "error", cls: "edge-error" },
  "on-complete": { label: "complete", cls: "edge-complete" },
  "on-skip": { label: "skip", cls: "edge-complete" },
  requires: { label: "requires", cls: "edge-requires" },
};

/** The workflow body named ``name`` (plain or "workbook.workflow") in a definition. */
export function findWorkflow(definition, name) {
  const doc = parseYaml(definition || "");
  if (!doc || typeof doc !== "object") return null;
  const short = name && name.includes(".") ? name.slice(name.lastIndexOf(".") + 1) : name;
  const pools = [doc, doc.workflows || {}];
  for (const pool of pools) {
    for (const key of [name, short]) if (key && pool[key] && typeof pool[key] === "object") return pool[key];
  }
  for (const pool of pools) {
    for (const [k, v] of Object.entries(pool)) if (!DOC_KEYS.has(k) && v && typeof v === "object" && v.tasks) return v;
  }
  return null;
}

function targets(value) {
  // "t", ["t", {t: "<% cond %>"}], {next: [...], publish: ...} (advanced form)
  if (value === null || value === undefined) return [];
  if (typeof value === "object" && !Array.isArray(value) && "next" in value) return targets(value.next);
  const list = Array.isArray(value) ? value : [value];
  const out = [];
  for (const item of list) {
    if (typeof item === "string") out.push({ name: item.trim().split(/\s+/)[0], guard: null });
    else if (item && typeof item === "object") {
      for (const [k, v] of Object.entries(item)) out.push({ name: String(k).trim().split(/\s+/)[0], guard: v });
    }
  }
  return out;
}

/** {type, nodes: [{name, action, workflow, join, withItems}], edges: [{from, to, kind, guard}]} */
export function workflowModel(body) {
  const tasks = body.tasks || {};
  const type = body.type || "direct";
  const defaults = body["task-defaults"] || {};
  const nodes = [];
  const edges = [];
  for (const [name, t] of Object.entries(tasks)) {
    const spec = t || {};
    nodes.push({
      name,
      action: spec.action ? String(spec.action).split(/\s+/)[0] : null,
      workflow: spec.workflow ? String(spec.workflow).split(/\s+/)[0] : null,
      join: spec.join ?? null,
      withItems: spec["with-items"] !== undefined && spec["with-items"] !== null,
      pause: !!spec["pause-before"],
    });
    if (type === "reverse") {
      const req = spec.requires ? (Array.isArray(spec.requires) ? spec.requires : [spec.requires]) : [];
      for (const r of req) edges.push({ from: String(r), to: name, kind: "requires", guard: null });
      continue;
    }
    for (const kind of ["on-success", "on-error", "on-complete", "on-skip"]) {
      // task-defaults' transitions apply to the tasks that have none of their own
      const value = spec[kind] !== undefined ? spec[kind] : defaults[kind];
      for (const { name: to, guard } of targets(value)) {
        if (ENGINE_COMMANDS.has(to) && !(to in tasks)) continue;
        if (to === name && spec[kind] === undefined) continue;
        edges.push({ from: name, to, kind, guard });
      }
    }
  }
  const known = new Set(nodes.map((n) => n.name));
  return { type, nodes, edges: edges.filter((e) => known.has(e.from) && known.has(e.to)) };
}

const NODE_W = 196, NODE_H = 50, GAP_X = 36, GAP_Y = 62, PAD = 24, VIRTUAL_W = 14;

/** Layers by longest path from the start tasks (back edges of loops ignored), ordered by barycentre. */
export function layout(model) {
  const names = model.nodes.map((n) => n.name);
  const out = new Map(names.map((n) => [n, []]));
  const inc = new Map(names.map((n) => [n, []]));
  for (const e of model.edges) { out.get(e.from).push(e.to); inc.get(e.to).push(e.from); }
  // depth-first from the roots to find back edges (loops)
  const back = new Set();
  const color = new Map();
  const visit = (n) => {
    color.set(n, 1);
    for (const m of out.get(n)) {
      if (color.get(m) === 1) back.add(`${n}\u0000${m}`);
      else if (!color.get(m)) visit(m);
    }
    color.set(n, 2);
  };
  for (const n of names) if (inc.get(n).length === 0) visit(n);
  for (const n of names) if (!color.get(n)) visit(n);
  const fwd = (a, b) => !back.has(`${a}\u0000${b}`);
  const layer = new Map();
  const order = [];
  const seen = new Set();
  const topo = (n) => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const p of inc.get(n)) if (fwd(p, n)) topo(p);
    order.push(n);
  };
  names.forEach(topo);
  for (const n of order) {
    let l = 0;
    for (const p of inc.get(n)) if (fwd(p, n)) l = Math.max(l, (layer.get(p) ?? 0) + 1);
    layer.set(n, l);
  }
  const layers = [];
  for (const n of names) (layers[layer.get(n)] ||= []).push(n);
  // An edge over several layers goes through a narrow "virtual" node in each
  // layer between, so that the ordering keeps it clear of the task boxes.
  const up = new Map(names.map((n) => [n, []]));
  const down = new Map(names.map((n) => [n, []]));
  const routes = new Map();          // edge index -> virtual node ids, top to bottom
  model.edges.forEach((e, i) => {
    if (!fwd(e.from, e.to)) return;
    const l0 = layer.get(e.from), l1 = layer.get(e.to);
    let prev = e.from;
    const via = [];
    for (let l = l0 + 1; l < l1; l++) {
      const v = `\u0001${i}:${l}`;
      layers[l].push(v);
      up.set(v, []); down.set(v, []);
      via.push(v);
      up.get(v).push(prev); down.get(prev).push(v);
      prev = v;
    }
    if (l1 > l0) { up.get(e.to).push(prev); down.get(prev).push(e.to); }
    routes.set(i, via);
  });
  const isVirtual = (n) => n.startsWith("\u0001");
  const wOf = (n) => (isVirtual(n) ? VIRTUAL_W : NODE_W);
  const index = new Map();
  layers.forEach((ns) => ns.forEach((n, i) => index.set(n, i)));
  const sweep = (from, to, step, nbrs) => {
    for (let li = from; li !== to; li += step) {
      const bary = (n) => {
        const ps = nbrs.get(n).map((p) => index.get(p));
        return ps.length ? ps.reduce((x, y) => x + y, 0) / ps.length : index.get(n);
      };
      const keyed = layers[li].map((n) => [bary(n), index.get(n), n]);
      keyed.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
      layers[li] = keyed.map((k) => k[2]);
      layers[li].forEach((n, i) => index.set(n, i));
    }
  };
  for (let pass = 0; pass < 3; pass++) {
    sweep(1, layers.length, 1, up);
    sweep(layers.length - 2, -1, -1, down);
  }
  sweep(1, layers.length, 1, up);
  const rowWidth = (ns) => ns.reduce((sum, n) => sum + wOf(n), 0) + Math.max(0, ns.length - 1) * GAP_X;
  const widest = Math.max(NODE_W, ...layers.map(rowWidth));
  const inner = PAD * 2 + widest;
  // loops go back up on the right, beside every box
  const width = inner + (back.size ? 48 : 0);
  const loopX = inner - PAD + 22;
  const height = PAD * 2 + layers.length * NODE_H + Math.max(0, layers.length - 1) * GAP_Y;
  const box = new Map();
  layers.forEach((ns, li) => {
    let x = (inner - rowWidth(ns)) / 2;
    for (const n of ns) {
      box.set(n, { x, y: PAD + li * (NODE_H + GAP_Y), w: wOf(n), h: NODE_H });
      x += wOf(n) + GAP_X;
    }
  });
  const via = new Map([...routes].map(([i, vs]) => [i, vs.map((v) => box.get(v))]));
  return { box, width, height, back, via, loopX };
}

function clip(text, max) { return text.length > max ? `${text.slice(0, max - 1)}…` : text; }

/**
 * Draw the model. Returns {element, setState(taskName, state)}. Nodes are
 * focusable; ``onSelect(name)`` is called on click or Enter.
 */
export function drawGraph(model, { onSelect, title = "Workflow graph" } = {}) {
  const { box, width, height, back, via, loopX } = layout(model);
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, class: "graph", role: "group", "aria-label": title,
  });
  root.append(svg("title", {}, title));
  const defs = svg("defs");
  for (const kind of ["success", "error", "complete", "requires"]) {
    defs.append(svg("marker", { id: `arrow-${kind}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", class: `arrowhead-${kind}` })));
  }
  root.append(defs);
  const edgeLayer = svg("g", { class: "edges" });
  const nodeLayer = svg("g", { class: "nodes" });
  root.append(edgeLayer, nodeLayer);
  // several edges between the same two tasks are spread apart
  const pairCount = new Map();
  model.edges.forEach((e, edgeIndex) => {
    const a = box.get(e.from), b = box.get(e.to);
    const key = `${e.from}\u0000${e.to}`;
    const k = pairCount.get(key) || 0;
    pairCount.set(key, k + 1);
    const off = k * 14;
    const kind = EDGE_KINDS[e.kind];
    const marker = kind.cls.replace("edge-", "");
    let d, lx, ly;
    if (back.has(key) || b.y <= a.y) {
      // a loop back: leave by the right side and come back in from the right
      const x1 = a.x + a.w, y1 = a.y + a.h / 2, x2 = b.x + b.w, y2 = b.y + b.h / 2;
      const bulge = loopX + off;
      const r = 8, dir = y2 < y1 ? -1 : 1;
      d = `M${x1},${y1} L${bulge - r},${y1} Q${bulge},${y1} ${bulge},${y1 + dir * r} `
        + `L${bulge},${y2 - dir * r} Q${bulge},${y2} ${bulge - r},${y2} L${x2 + 2},${y2}`;
      lx = bulge + 3; ly = (y1 + y2) / 2;
    } else {
      // down through the virtual nodes of the layers in between, if any
      const pts = [{ x: a.x + a.w / 2 + off, y: a.y + a.h }];
      for (const v of via.get(edgeIndex) || []) pts.push({ x: v.x + v.w / 2, y: v.y }, { x: v.x + v.w / 2, y: v.y + v.h });
      pts.push({ x: b.x + b.w / 2 + off, y: b.y - 2 });
      d = `M${pts[0].x},${pts[0].y}`;
      for (let k = 1; k < pts.length; k++) {
        const p = pts[k - 1], q = pts[k];
        if (k % 2 === 0) { d += ` L${q.x},${q.y}`; continue; }     // straight through a layer
        const my = (p.y + q.y) / 2;
        d += ` C${p.x},${my} ${q.x},${my} ${q.x},${q.y}`;
      }
      lx = (pts[0].x + pts[1].x) / 2 + 4; ly = (pts[0].y + pts[1].y) / 2;
    }
    const g = svg("g", { class: `edge ${kind.cls}`, "data-from": e.from, "data-to": e.to, "data-kind": e.kind });
    g.append(svg("title", {}, `${e.from} → ${e.to} (${e.kind}${e.guard ? `, when ${e.guard}` : ""})`));
    g.append(svg("path", { d, "marker-end": `url(#arrow-${marker})` }));
    g.append(svg("text", { x: lx, y: ly, class: "edge-label" }, kind.label + (e.guard ? " ?" : "")));
    edgeLayer.append(g);
  });
  const nodes = new Map();
  for (const n of model.nodes) {
    const b = box.get(n.name);
    const g = svg("g", {
      class: "node state-none", transform: `translate(${b.x},${b.y})`, tabindex: 0, role: "button",
      "data-task": n.name, "aria-label": `task ${n.name}, not started`,
    });
    g.append(svg("rect", { width: b.w, height: b.h, rx: 8, ry: 8, class: "node-box" }));
    const stateText = svg("text", { x: 12, y: 20, class: "node-state" }, "");
    const nameText = svg("text", { x: 30, y: 20, class: "node-name" });
    g.append(nameText);
    g.append(stateText);
    const sub = n.workflow ? `⤷ ${n.workflow}` : n.action || "";
    g.append(svg("text", { x: 12, y: 38, class: "node-sub" }, clip(sub, 24)));
    const marks = [];
    if (n.join !== null) marks.push({ text: n.join === "all" ? "join" : `join ${n.join}`, cls: "mark-join" });
    if (n.withItems) marks.push({ text: "∀ items", cls: "mark-items" });
    if (n.pause) marks.push({ text: "‖ pause", cls: "mark-pause" });
    // marks sit inside the box, top right, so that arrows never hide them
    let mx = b.w - 6;
    for (const m of marks) {
      const w = 6.4 * m.text.length + 10;
      mx -= w;
      g.append(svg("rect", { x: mx, y: 7, width: w, height: 16, rx: 8, class: `mark ${m.cls}` }));
      g.append(svg("text", { x: mx + w / 2, y: 19, class: "mark-text", "text-anchor": "middle" }, m.text));
      mx -= 4;
    }
    nameText.textContent = clip(n.name, Math.max(6, Math.floor((mx - 30) / 7.6)));
    g.append(svg("title", {}, `${n.name}${sub ? ` — ${sub}` : ""}${marks.length ? ` (${marks.map((m) => m.text).join(", ")})` : ""}`));
    if (onSelect) {
      g.addEventListener("click", () => onSelect(n.name));
      g.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); onSelect(n.name); } });
    }
    nodes.set(n.name, { g, stateText });
    nodeLayer.append(g);
  }
  return {
    element: root,
    setState(name, state, selected) {
      const node = nodes.get(name);
      if (!node) return;
      node.g.setAttribute("class", `node state-${(state || "none").toLowerCase()}${selected ? " selected" : ""}`);
      node.g.dataset.state = state || "";
      node.stateText.textContent = state ? stateIcon(state) : "";
      node.g.setAttribute("aria-label", `task ${name}, ${state || "not started"}`);
    },
    select(name) {
      for (const [n, node] of nodes) node.g.classList.toggle("selected", n === name);
    },
  };
}

export function legend(type = "direct") {
  const items = type === "reverse" ? [["edge-requires", "requires (runs first)"]] : [
    ["edge-success", "on-success"], ["edge-error", "on-error"], ["edge-complete", "on-complete"],
  ];
  const ul = document.createElement("ul");
  ul.className = "legend";
  for (const [cls, label] of items) {
    const li = document.createElement("li");
    const s = svg("svg", { width: 34, height: 10, "aria-hidden": "true", class: cls },
      svg("line", { x1: 0, y1: 5, x2: 34, y2: 5 }));
    li.append(s, ` ${label}`);
    ul.append(li);
  }
  for (const [cls, label] of [["mark-join", "join: waits for its inbound tasks"], ["mark-items", "∀ items: with-items"]]) {
    const li = document.createElement("li");
    const span = document.createElement("span");
    span.className = `legend-mark ${cls}`;
    span.textContent = label.split(":")[0];
    li.append(span, ` ${label.split(": ")[1]}`);
    ul.append(li);
  }
  return ul;
}
