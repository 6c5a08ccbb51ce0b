// The console's only way to the server: the public REST API v2, same origin.
// A token (when the server asks for one) lives in sessionStorage and goes in
// the X-Auth-Token header; a 401 asks the page to show the sign-in form.

const TOKEN_KEY = "levante.token";
export const API = "/v2";

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export function getToken() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const h = { Accept: "application/json", ...extra };
  const token = getToken();
  if (token) h["X-Auth-Token"] = token;
  return h;
}

async function failure(resp) {
  let body = null;
  let message = `${resp.status} ${resp.statusText}`;
  try {
    body = await resp.json();
    message = body.faultstring || body.description || body.title || message;
  } catch (_) { /* not JSON */ }
  // The challenge says which sign-in the server takes (Keystone: a password form too).
  if (resp.status === 401) onUnauthorized(message, resp.headers.get("WWW-Authenticate") || "");
  return new ApiError(resp.status, message, body);
}

/** A JSON request to the API; resolves to the decoded body (null for 204). */
export async function request(method, path, body, contentType = "application/json") {
  const init = { method, headers: headers(), credentials: "same-origin", mode: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = contentType;
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const resp = await fetch(API + path, init);
  if (!resp.ok) throw await failure(resp);
  if (resp.status === 204) return null;
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path) => request("GET", path);
export const post = (path, body, ct) => request("POST", path, body, ct);
export const put = (path, body) => request("PUT", path, body);
export const del = (path) => request("DELETE", path);

/** Query string from an object, leaving out empty values. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** Mistral's JSON-valued fields arrive as JSON text. */
export function decode(value) {
  if (typeof value !== "string") return value;
  try { return JSON.parse(value); } catch (_) { return value; }
}

/**
 * Follow an execution's event stream (server-sent events). Read with fetch so
 * that the token header goes along (EventSource cannot send headers).
 * Calls onEvent(name, data) per message; returns a function that stops.
 * Reconnects after a dropped connection until stopped or the stream ends.
 */
export function follow(execId, onEvent, onEnd = () => {}) {
  const ctl = new AbortController();
  let stopped = false;
  (async () => {
    let delay = 500;
    while (!stopped) {
      try {
        const resp = await fetch(`${API}/executions/${encodeURIComponent(execId)}/events`, {
          headers: headers({ Accept: "text/event-stream" }), signal: ctl.signal,
          credentials: "same-origin", mode: "same-origin",
        });
        if (!resp.ok) { await failure(resp); break; }
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let name = "message";
            const data = [];
            for (const line of block.split("\n")) {
              if (line.startsWith(":")) continue;
              if (line.startsWith("event:")) name = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).trim());
            }
            if (data.length) onEvent(name, JSON.parse(data.join("\n")));
          }
        }
        break;   // the server ended the stream: the execution is over
      } catch (err) {
        if (stopped) return;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10000);
      }
    }
    if (!stopped) onEnd();
  })();
  return () => { stopped = true; ctl.abort(); };
}
