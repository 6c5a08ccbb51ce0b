// A YAML reader for the part of YAML that workflow definitions use: block
// mappings and sequences, flow [..] and {..}, plain and quoted scalars,
// block scalars (| and >), comments. The server has already validated the
// definition; the console only needs its shape to draw the graph, and a
// definition this reader cannot follow only loses its drawing.

export class YamlError extends Error {}

const isBlank = (s) => /^\s*(#.*)?$/.test(s) || /^(---|\.\.\.)\s*(#.*)?$/.test(s) || s.startsWith("%");
const indentOf = (s) => s.length - s.trimStart().length;

/** Cut a trailing comment (a # after a space, outside quotes). */
function stripComment(s) {
  let q = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === q) { if (q === "'" && s[i + 1] === "'") i++; else q = null; }
      else if (c === "\\" && q === '"') i++;
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s\[{,:]/.test(s[i - 1])) q = c;
    } else if (c === "#" && (i === 0 || /\s/.test(s[i - 1]))) return s.slice(0, i).trimEnd();
  }
  return s.trimEnd();
}

function scalar(text) {
  const s = text.trim();
  if (s === "" || s === "~" || s === "null" || s === "Null" || s === "NULL") return null;
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?\d+$/.test(s)) return parseInt(s, 10);
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(s)) return parseFloat(s);
  if (s[0] === '"' || s[0] === "'") return new Flow(s, 0).quoted();
  return s;
}

/** Parses flow collections and quoted scalars from one string. */
class Flow {
  constructor(s, pos) { this.s = s; this.p = pos; }
  ws() { while (this.p < this.s.length && /\s/.test(this.s[this.p])) this.p++; }
  quoted() {
    const q = this.s[this.p++];
    let out = "";
    while (this.p < this.s.length) {
      const c = this.s[this.p++];
      if (c === q) {
        if (q === "'" && this.s[this.p] === "'") { out += "'"; this.p++; continue; }
        return out;
      }
      if (c === "\\" && q === '"') {
        const e = this.s[this.p++];
        out += { n: "\n", t: "\t", '"': '"', "\\": "\\", "/": "/", r: "\r", "0": "\0" }[e] ?? e;
      } else out += c;
    }
    throw new YamlError("unterminated quoted string");
  }
  value(inMap) {
    this.ws();
    const c = this.s[this.p];
    if (c === "[") return this.seq();
    if (c === "{") return this.map();
    if (c === '"' || c === "'") return this.quoted();
    const start = this.p;
    while (this.p < this.s.length) {
      const ch = this.s[this.p];
      if (ch === "," || ch === "]" || ch === "}") break;
      if (inMap && ch === ":" && /[\s,\]}]|$/.test(this.s[this.p + 1] ?? "")) break;
      this.p++;
    }
    return scalar(this.s.slice(start, this.p));
  }
  seq() {
    this.p++;
    const out = [];
    for (;;) {
      this.ws();
      if (this.s[this.p] === "]") { this.p++; return out; }
      if (this.p >= this.s.length) throw new YamlError("unclosed [");
      let item = this.value(true);
      this.ws();
      if (this.s[this.p] === ":") { this.p++; item = { [item]: this.value(false) }; this.ws(); }
      out.push(item);
      if (this.s[this.p] === ",") this.p++;
    }
  }
  map() {
    this.p++;
    const out = {};
    for (;;) {
      this.ws();
      if (this.s[this.p] === "}") { this.p++; return out; }
      if (this.p >= this.s.length) throw new YamlError("unclosed {");
      const key = this.value(true);
      this.ws();
      let val = null;
      if (this.s[this.p] === ":") { this.p++; val = this.value(true); }
      out[key] = val;
      this.ws();
      if (this.s[this.p] === ",") this.p++;
    }
  }
}

function balance(s) {
  let depth = 0, q = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) { if (c === q) q = null; else if (c === "\\" && q === '"') i++; }
    else if (c === '"' || c === "'") q = c;
    else if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") depth--;
  }
  return depth;
}

/** Split "key: rest" (null when the line is not a mapping entry). */
function splitKey(s) {
  if (s[0] === '"' || s[0] === "'") {
    const f = new Flow(s, 0);
    let key;
    try { key = f.quoted(); } catch (_) { return null; }
    const after = s.slice(f.p);
    const m = /^\s*:(\s|$)/.exec(after);
    return m ? [key, after.slice(m[0].length).trim()] : null;
  }
  if (s[0] === "[" || s[0] === "{") return null;
  const m = /:(\s|$)/.exec(s);
  if (!m) return null;
  return [s.slice(0, m.index).trim(), s.slice(m.index + m[0].length).trim()];
}

class Reader {
  constructor(text) {
    this.lines = text.replace(/\r\n?/g, "\n").replace(/\t/g, "  ").split("\n");
    this.i = 0;
  }
  skip() { while (this.i < this.lines.length && isBlank(this.lines[this.i])) this.i++; }
  peek() { this.skip(); return this.i < this.lines.length ? this.lines[this.i] : null; }
  fail(msg) { throw new YamlError(`line ${this.i + 1}: ${msg}`); }

  node(minIndent) {
    const line = this.peek();
    if (line === null || indentOf(line) < minIndent) return null;
    const ind = indentOf(line);
    const body = stripComment(line.trim());
    if (body === "-" || body.startsWith("- ")) return this.seq(ind);
    if (splitKey(body)) return this.map(ind);
    this.i++;
    return this.inline(body, ind - 1);
  }

  map(ind) {
    const out = {};
    for (let line = this.peek(); line !== null && indentOf(line) === ind; line = this.peek()) {
      const body = stripComment(line.trim());
      const kv = splitKey(body);
      if (!kv) this.fail(`expected "key: value", got ${JSON.stringify(body)}`);
      this.i++;
      out[kv[0]] = this.value(kv[1], ind);
    }
    return out;
  }

  seq(ind) {
    const out = [];
    for (let line = this.peek(); line !== null && indentOf(line) === ind; line = this.peek()) {
      const t = line.trim();
      if (!(t === "-" || t.startsWith("- ") || t.startsWith("-\t"))) break;
      const rest = t.slice(1).trimStart();
      if (stripComment(rest) === "") {
        this.i++;
        out.push(this.node(ind + 1));
      } else {
        // "- key: v" is a mapping whose keys line up with "key".
        const inner = ind + (t.length - rest.length);
        this.lines[this.i] = " ".repeat(inner) + rest;
        out.push(this.node(inner));
      }
    }
    return out;
  }

  /** The value after "key:" on a line whose entry is at indent ``ind``. */
  value(rest, ind) {
    if (rest === "") {
      const next = this.peek();
      if (next === null) return null;
      const nind = indentOf(next);
      const nt = next.trim();
      if (nind > ind) return this.node(nind);
      if (nind === ind && (nt === "-" || nt.startsWith("- "))) return this.seq(ind);
      return null;
    }
    if (/^[|>][-+0-9]*$/.test(rest)) return this.block(rest, ind);
    return this.inline(rest, ind);
  }

  inline(rest, ind) {
    let text = rest;
    if (text[0] === "[" || text[0] === "{") {
      while (balance(text) > 0 && this.i < this.lines.length) text += " " + stripComment(this.lines[this.i++].trim());
      return new Flow(text, 0).value(false);
    }
    if (text[0] === '"' || text[0] === "'") {
      // a quoted scalar may run over several lines
      for (;;) {
        try { return new Flow(text, 0).quoted(); } catch (e) {
          if (this.i >= this.lines.length) throw e;
          text += " " + this.lines[this.i++].trim();
        }
      }
    }
    // plain scalar, continued on more-indented lines
    for (let line = this.peek(); line !== null && indentOf(line) > ind; line = this.peek()) {
      const t = stripComment(line.trim());
      if (splitKey(t) || t.startsWith("- ")) break;
      text += " " + t;
      this.i++;
    }
    return scalar(text);
  }

  block(header, ind) {
    const fold = header[0] === ">";
    const chomp = header.includes("-") ? "strip" : header.includes("+") ? "keep" : "clip";
    const lines = [];
    let blockIndent = null;
    while (this.i < this.lines.length) {
      const line = this.lines[this.i];
      if (line.trim() === "") { lines.push(""); this.i++; continue; }
      const li = indentOf(line);
      if (li <= ind) break;
      if (blockIndent === null) blockIndent = li;
      if (li < blockIndent) break;
      lines.push(line.slice(blockIndent));
      this.i++;
    }
    let trailing = 0;
    while (lines.length && lines[lines.length - 1] === "") { lines.pop(); trailing++; }
    let text = fold ? lines.reduce((acc, l, k) => (k === 0 ? l : acc + (l === "" || lines[k - 1] === "" ? "\n" : " ") + l), "")
      : lines.join("\n");
    if (chomp === "clip" && lines.length) text += "\n";
    if (chomp === "keep") text += "\n".repeat(trailing + 1);
    return text;
  }
}

/** Parse one YAML document; throws YamlError on what it cannot read. */
export function parseYaml(text) {
  const r = new Reader(text);
  const first = r.peek();
  if (first === null) return null;
  const value = r.node(indentOf(first));
  if (r.peek() !== null) r.fail("unexpected content");
  return value;
}
