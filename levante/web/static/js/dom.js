// Small DOM helpers. Text always goes in as text (never as HTML).

/** h("tag.class#id", {attrs}, ...children) -> element. */
export function h(spec, attrs, ...children) {
  const [, tag = "div", rest = ""] = /^([a-z0-9]+)?(.*)$/i.exec(spec);
  const el = document.createElement(tag || "div");
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "style") el.style.cssText = v;   // CSSOM: allowed by the strict CSP
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false || c === "") continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, v);
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

// Every state has a word and a symbol, so colour is never the only sign.
const STATE_ICONS = {
  IDLE: "○", WAITING: "◔", RUNNING: "▶", RUNNING_DELAYED: "◷", PAUSED: "‖",
  SUCCESS: "✔", ERROR: "✖", CANCELLED: "⊘", SKIPPED: "↷",
};
export const STATES = ["RUNNING", "PAUSED", "SUCCESS", "ERROR", "CANCELLED", "IDLE"];

export function stateIcon(state) { return STATE_ICONS[state] || "•"; }

export function badge(state) {
  return h("span.badge", { class: `badge state-${(state || "none").toLowerCase()}`, dataset: { state: state || "" } },
    h("span", { "aria-hidden": "true" }, stateIcon(state)), " ", state || "—");
}

/** API times are UTC text "YYYY-MM-DD HH:MM:SS". */
export function parseTime(value) {
  if (!value) return null;
  const t = Date.parse(value.replace(" ", "T") + "Z");
  return Number.isNaN(t) ? null : t;
}

export function timeCell(value) {
  const t = parseTime(value);
  if (t === null) return h("span.muted", "—");
  return h("time", { datetime: new Date(t).toISOString(), title: `${value} UTC` }, ago(t));
}

export function ago(t) {
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(t).toISOString().slice(0, 16).replace("T", " ");
}

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** A JSON value shown as indented text. */
export function jsonBlock(value, cls = "") {
  let text;
  if (value === undefined) text = "";
  else if (typeof value === "string") {
    try { text = JSON.stringify(JSON.parse(value), null, 2); } catch (_) { text = value; }
  } else text = JSON.stringify(value, null, 2);
  return h("pre.json", { class: `json ${cls}`, tabindex: "0" }, text);
}

export function shortId(id) { return id ? id.slice(0, 8) : ""; }

export function link(href, ...children) { return h("a", { href }, ...children); }

/** Replace an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function errorBox(err) {
  return h("div.alert.error", { role: "alert" }, h("strong", "✖ Error: "), err.message || String(err));
}

export function notice(text, kind = "info") {
  return h("div.alert", { class: `alert ${kind}`, role: "status" }, text);
}

/** A button that runs an async action and shows failure next to itself. */
export function actionButton(label, fn, { cls = "", title, confirmText } = {}) {
  const btn = h("button", { type: "button", class: `btn ${cls}`, title });
  btn.textContent = label;
  btn.addEventListener("click", async () => {
    // Busy, not disabled: a disabled button would drop the keyboard focus.
    if (btn.getAttribute("aria-busy") === "true") return;
    if (confirmText && !window.confirm(confirmText)) return;
    btn.setAttribute("aria-busy", "true");
    try { await fn(); } catch (err) { toast(err.message || String(err), "error"); }
    finally { btn.removeAttribute("aria-busy"); }
  });
  return btn;
}

export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  const t = h("div.toast", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" },
    kind === "error" ? "✖ " : "✔ ", text);
  box.append(t);
  setTimeout(() => t.remove(), kind === "error" ? 9000 : 4000);
}

/**
 * Re-render ``root`` with ``render()`` without losing the keyboard focus: the
 * element that had it (same tag, text and row) gets it back, or, with
 * ``fallback``, the first button of ``root``.
 */
export function keepFocus(root, render, fallback = false) {
  const a = document.activeElement;
  const rowKey = (el) => {
    const row = el.closest("[data-id],[data-task]");
    return row ? row.dataset.id || row.dataset.task : null;
  };
  const key = a && a !== root && root.contains(a) ? { tag: a.tagName, text: a.textContent, row: rowKey(a) } : null;
  render();
  if (!key) return;
  for (const el of root.querySelectorAll(key.tag)) {
    if (el.textContent === key.text && rowKey(el) === key.row) { el.focus({ preventScroll: true }); return; }
  }
  if (fallback) root.querySelector("button, a")?.focus({ preventScroll: true });
}
