// The console's shell: routes /ui/... URLs to pages, handles sign-in.

import { setUnauthorizedHandler, setToken, getToken } from "./api.js";
import { h, fill, errorBox } from "./dom.js";
import * as executions from "./pages/executions.js";
import * as execution from "./pages/execution.js";
import * as definitions from "./pages/definitions.js";
import * as resources from "./pages/resources.js";
import * as queues from "./pages/queues.js";

const ROUTES = [
  [/^\/ui\/?$/, "executions", executions.list],
  [/^\/ui\/executions\/([^/]+)$/, "executions", execution.show],
  [/^\/ui\/workflows\/?$/, "workflows", definitions.workflows],
  [/^\/ui\/workflows\/([^/]+)$/, "workflows", definitions.workflow],
  [/^\/ui\/workbooks\/?$/, "workbooks", definitions.workbooks],
  [/^\/ui\/workbooks\/([^/]+)$/, "workbooks", definitions.workbook],
  [/^\/ui\/actions\/?$/, "actions", definitions.actions],
  [/^\/ui\/actions\/([^/]+)$/, "actions", definitions.action],
  [/^\/ui\/environments\/?$/, "environments", resources.environments],
  [/^\/ui\/environments\/([^/]+)$/, "environments", resources.environment],
  [/^\/ui\/triggers\/?$/, "triggers", resources.triggers],
  [/^\/ui\/queues\/?$/, "queues", queues.list],
  [/^\/ui\/queues\/([^/]+)$/, "queues", queues.show],
];

const main = document.getElementById("main");
let cleanup = null;
let signingIn = false;

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  route();
}

let generation = 0;

async function route() {
  if (cleanup) { try { cleanup(); } catch (_) { /* page already gone */ } cleanup = null; }
  signingIn = false;
  const mine = ++generation;
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  for (const [re, nav, page] of ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (a.dataset.nav === nav) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    // Each page draws in a view of its own: a page left before it finished
    // loading draws into a detached view, never over the next page.
    const view = h("div.view", h("p.loading", { role: "status" }, "Loading…"));
    fill(main, view);
    try {
      const params = m.slice(1).map(decodeURIComponent);
      const done = (await page(view, params, query, { navigate })) || null;
      if (mine === generation) cleanup = done;
      else if (done) done();
    } catch (err) {
      if (err.status === 401 || mine !== generation) return;   // signing in, or left
      fill(view, h("h1", "Something went wrong"), errorBox(err));
    }
    return;
  }
  document.title = "Not found · Levante";
  fill(main, h("h1", "Page not found"), h("p", "There is no console page at ", h("code", path), ". ",
    h("a", { href: "/ui/" }, "Back to the executions.")));
}

function signIn(message) {
  if (signingIn) return;
  signingIn = true;
  if (cleanup) { try { cleanup(); } catch (_) { /* ignore */ } cleanup = null; }
  document.title = "Sign in · Levante";
  const input = h("input#token", { type: "password", name: "token", autocomplete: "off", required: true, "aria-describedby": "token-help" });
  const form = h("form.card.signin", { "aria-labelledby": "signin-title" },
    h("h1#signin-title", "Sign in"),
    h("p", getToken() ? "The server did not accept the token: " : "The server asks who you are: ", h("em", message || "authentication required")),
    h("label", { for: "token" }, "Access token"),
    input,
    h("p#token-help.help", "Paste a token for this server. It is kept in this browser tab only (session storage) and sent as the X-Auth-Token header."),
    h("button.btn.primary", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    setToken(input.value.trim());
    updateSignout();
    signingIn = false;
    route();
  });
  fill(main, form);
  input.focus();
}

function updateSignout() {
  document.getElementById("signout").hidden = !getToken();
}

document.getElementById("signout").addEventListener("click", () => {
  setToken(null);
  updateSignout();
  route();
});

// Same-origin links to console pages change the page without reloading it.
document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a");
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  if (a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/ui/") || url.pathname.startsWith("/ui/assets/")) return;
  ev.preventDefault();
  navigate(url.pathname + url.search);
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
});

window.addEventListener("popstate", route);
setUnauthorizedHandler(signIn);
updateSignout();
route();
