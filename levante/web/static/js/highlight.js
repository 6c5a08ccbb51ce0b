// YAML definitions shown with their parts coloured: keys, strings,
// expressions (<% %> and {{ }}), numbers, comments. Lines are numbered.

import { h } from "./dom.js";

const TOKEN = /(<%[\s\S]*?%>|\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|\s#.*$)/g;

function valueSpans(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    if (m.index > last) out.push(plain(text.slice(last, m.index)));
    const t = m[0];
    let cls = "tok-str";
    if (t.startsWith("<%") || t.startsWith("{{") || t.startsWith("{%")) cls = "tok-expr";
    else if (t.trimStart().startsWith("#")) cls = "tok-comment";
    out.push(h("span", { class: cls }, t));
    last = m.index + t.length;
  }
  if (last < text.length) out.push(plain(text.slice(last)));
  return out;
}

function plain(text) {
  const t = text.trim();
  if (/^(true|false|null|~|True|False|-?\d+(\.\d+)?)$/.test(t)) return h("span.tok-lit", text);
  return text;
}

export function highlightYaml(source) {
  const code = h("code.yaml");
  const lines = (source || "").replace(/\n$/, "").split("\n");
  lines.forEach((line, i) => {
    const row = h("span.line", { "data-n": i + 1 });
    const m = /^(\s*)(- )?((?:"[^"]*"|'[^']*'|[^\s#'"][^:#]*?)\s*:)(?=\s|$)(.*)$/.exec(line);
    if (/^\s*#/.test(line)) row.append(h("span.tok-comment", line));
    else if (m) {
      row.append(m[1]);
      if (m[2]) row.append(h("span.tok-dash", m[2]));
      row.append(h("span.tok-key", m[3]), ...valueSpans(m[4]));
    } else {
      const d = /^(\s*)(- )(.*)$/.exec(line);
      if (d) row.append(d[1], h("span.tok-dash", d[2]), ...valueSpans(d[3]));
      else row.append(...valueSpans(line));
    }
    code.append(row, "\n");
  });
  return h("pre.source", { tabindex: "0", "aria-label": "definition" }, code);
}
