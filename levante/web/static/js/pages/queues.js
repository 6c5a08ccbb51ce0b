// Queues: read the messages and post one, so a person can answer a workflow
// that waits for them (docs/interactive.md, human in the loop).

import { request, get, qs } from "../api.js";
import { h, fill, errorBox, toast, jsonBlock, actionButton } from "../dom.js";

const Q = (name) => `/queues/${encodeURIComponent(name)}`;

export async function list(main, _params, _query, { navigate }) {
  document.title = "Queues · Levante";
  const { queues } = await get(`/queues${qs({ limit: 1000, detailed: "true" })}`);
  const stats = await Promise.all(queues.map((q) => get(`${Q(q.name)}/stats`).then((s) => s.messages).catch(() => null)));
  const open = h("form.filters.single", { "aria-label": "Open a queue" },
    h("div.field", h("label", { for: "q-open" }, "Open a queue by name"),
      h("input#q-open", { type: "text", name: "queue", required: true, pattern: "[A-Za-z0-9_-]{1,64}", autocomplete: "off", placeholder: "answer-…" })),
    h("div.field.buttons", h("button.btn", { type: "submit" }, "Open")));
  open.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = open.querySelector("input").value.trim();
    if (name) navigate(`/ui/queues/${encodeURIComponent(name)}`);
  });
  fill(main, h("div.page-head", h("h1", "Queues")), open,
    queues.length ? h("div.table-wrap", h("table.list",
      h("caption.sr-only", "Queues"),
      h("thead", h("tr", ...["Queue", "Messages", "Claimed", "Oldest (s)"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", queues.map((q, i) => h("tr", { dataset: { queue: q.name } },
        h("td", { "data-label": "Queue" }, h("a.strong", { href: `/ui/queues/${encodeURIComponent(q.name)}` }, q.name)),
        h("td", { "data-label": "Messages" }, stats[i] ? String(stats[i].total) : "?"),
        h("td", { "data-label": "Claimed" }, stats[i] ? String(stats[i].claimed) : "?"),
        h("td", { "data-label": "Oldest (s)" }, stats[i]?.oldest ? String(stats[i].oldest.age) : "—"))))))
      : h("div.empty", h("p", "No queues yet. Posting a message creates its queue.")));
}

export async function show(main, [name], query) {
  document.title = `${name} · Queues · Levante`;
  const msgs = h("div");
  const status = h("p.live");   // not a live region: it changes every few seconds
  const bodyInput = h("textarea#q-body", { name: "body", rows: 5, spellcheck: "false", "aria-describedby": "q-body-help q-body-err" },
    query.get("body") || "");
  const ttlInput = h("input#q-ttl", { type: "number", name: "ttl", min: 60, max: 1209600, placeholder: "queue default", "aria-describedby": "q-ttl-err" });
  const bodyErr = h("p#q-body-err.field-error", { "aria-live": "polite" });
  const ttlErr = h("p#q-ttl-err.field-error", { "aria-live": "polite" });
  const form = h("form.card.post-form", { novalidate: true, "aria-labelledby": "post-title" },
    h("h2#post-title", "Post a message"),
    h("div.field", h("label", { for: "q-body" }, "Body"), bodyInput,
      h("p#q-body-help.help", 'JSON, for example {"approved": true, "note": "go ahead"}. Text that is not JSON is posted as a string.'), bodyErr),
    h("div.field", h("label", { for: "q-ttl" }, "Time to live (seconds)"), ttlInput, ttlErr),
    h("button.btn.primary", { type: "submit" }, "✉ Post"));
  let gone = false;

  async function refresh() {
    try {
      const r = await get(`${Q(name)}/messages${qs({ echo: "true", include_claimed: "true", limit: 20 })}`);
      if (gone) return;
      render(r.messages || []);
      status.textContent = `● Live · updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (err.status === 404) render([]);
      else if (err.status !== 401) fill(msgs, errorBox(err));
    }
  }

  function render(items) {
    if (!items.length) { fill(msgs, h("div.empty", h("p", "No messages in this queue."))); return; }
    fill(msgs, h("ol.messages", items.map((m) => {
      const body = m.body;
      const extra = [];
      if (body && typeof body === "object") {
        if (typeof body.reply_to === "string") {
          extra.push(h("a.btn.small", { href: `/ui/queues/${encodeURIComponent(body.reply_to)}` }, `↩ Answer in ${body.reply_to}`));
        }
        if (typeof body.execution_id === "string") {
          extra.push(h("a.btn.small.ghost", { href: `/ui/executions/${encodeURIComponent(body.execution_id)}` }, "Open the execution"));
        }
      }
      return h("li.message.card", { dataset: { id: m.id } },
        h("div.msg-meta", h("code", m.id), h("span.muted", ` age ${m.age} s · ttl ${m.ttl} s`), m.claim_id ? h("span.tag", "claimed") : null),
        jsonBlock(body), extra.length ? h("div.controls", extra) : null);
    })));
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    bodyErr.textContent = ""; ttlErr.textContent = "";
    bodyInput.removeAttribute("aria-invalid"); ttlInput.removeAttribute("aria-invalid");
    const raw = bodyInput.value.trim();
    if (!raw) { bodyErr.textContent = "✖ Required: write the message body."; bodyInput.setAttribute("aria-invalid", "true"); bodyInput.focus(); return; }
    let body;
    try { body = JSON.parse(raw); } catch (_) { body = raw; }
    const message = { body };
    if (ttlInput.value) {
      const ttl = Number(ttlInput.value);
      if (!Number.isInteger(ttl) || ttl < 60 || ttl > 1209600) {
        ttlErr.textContent = "✖ A whole number of seconds from 60 to 1209600.";
        ttlInput.setAttribute("aria-invalid", "true"); ttlInput.focus(); return;
      }
      message.ttl = ttl;
    }
    try {
      await request("POST", `${Q(name)}/messages`, { messages: [message] });
      toast(`Message posted to ${name}.`);
      bodyInput.value = "";
      refresh();
    } catch (err) {
      if (err.status === 401) return;
      bodyErr.textContent = `✖ ${err.message}`;
      bodyInput.setAttribute("aria-invalid", "true");
    }
  });

  const pop = actionButton("Take the oldest message", async () => {
    const r = await request("DELETE", `${Q(name)}/messages${qs({ pop: 1 })}`);
    const m = (r && r.messages) || [];
    toast(m.length ? "Took one message off the queue." : "The queue is empty.");
    refresh();
  }, { cls: "ghost", title: "Pop: removes the message from the queue", confirmText: "Take the oldest message off the queue? It is deleted." });

  fill(main,
    h("nav.crumbs", { "aria-label": "Breadcrumb" }, h("a", { href: "/ui/queues" }, "Queues"), " / ", h("span", name)),
    h("div.page-head", h("h1", `Queue ${name}`), status),
    h("div.split",
      h("section.card", { "aria-labelledby": "msgs-title" }, h("div.card-head", h("h2#msgs-title", "Messages, oldest first"), pop), msgs),
      form));
  await refresh();
  const timer = setInterval(() => { if (!document.hidden) refresh(); }, 3000);
  return () => { gone = true; clearInterval(timer); };
}
