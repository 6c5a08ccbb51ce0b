// The console's shell: routes /ui/... URLs to pages, handles sign-in.

import { setUnauthorizedHandler, setToken, getToken, post } from "./api.js";
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

function signedIn(token) {
  setToken(token);
  updateSignout();
  signingIn = false;
  route();
}

function signIn(message, challenge = "") {
  if (signingIn) return;
  signingIn = true;
  if (cleanup) { try { cleanup(); } catch (_) { /* ignore */ } cleanup = null; }
  document.title = "Sign in · Levante";
  const why = h("p", getToken() ? "The server did not accept the token: " : "The server asks who you are: ", h("em", message || "authentication required"));
  const keystone = challenge.startsWith("Keystone");
  const input = h("input#token", { type: "password", name: "token", autocomplete: "off", required: true, "aria-describedby": "token-help" });
  const tokenForm = h("form.card.signin", keystone ? { "aria-label": "Sign in with a pasted token" } : { "aria-labelledby": "signin-title" },
    keystone ? null : h("h1#signin-title", "Sign in"),
    keystone ? null : why,
    h("label", { for: "token" }, "Access token"),
    input,
    h("p#token-help.help", "Paste a token for this server. It is kept in this browser tab only (session storage) and sent as the X-Auth-Token header."),
    h("button.btn.primary", { type: "submit" }, keystone ? "Sign in with the token" : "Sign in"));
  tokenForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    signedIn(input.value.trim());
  });
  if (!keystone) {
    fill(main, tokenForm);
    input.focus();
    return;
  }
  // Mode keystone: the server asks its Keystone for a token with this password.
  const field = (id, label, attrs) => [h("label", { for: id }, label), h(`input#${id}`, { name: id, required: true, ...attrs })];
  const error = h("p#signin-error.field-error", { role: "alert" });
  const button = h("button.btn.primary", { type: "submit" }, "Sign in");
  const form = h("form.card.signin.keystone", { "aria-labelledby": "signin-title" },
    h("h1#signin-title", "Sign in"),
    why,
    ...field("ks-username", "User name", { type: "text", autocomplete: "username" }),
    ...field("ks-password", "Password", { type: "password", autocomplete: "current-password" }),
    ...field("ks-project", "Project", { type: "text", autocomplete: "off" }),
    h("details.more", h("summary", "Domains"),
      ...field("ks-user-domain", "User domain", { type: "text", value: "Default" }),
      ...field("ks-project-domain", "Project domain", { type: "text", value: "Default" })),
    error,
    h("p.help", "The server asks its Keystone for a token of this project with your password, which it does not keep. The token stays in this browser tab only (session storage)."),
    button);
  const value = (id) => form.querySelector(`#${id}`).value;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    // Busy, not disabled: a disabled button would drop the keyboard focus.
    if (button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");
    error.textContent = "";
    try {
      const got = await post("/auth/keystone", {
        username: value("ks-username").trim(), password: value("ks-password"),
        project_name: value("ks-project").trim(), user_domain_name: value("ks-user-domain").trim(),
        project_domain_name: value("ks-project-domain").trim(),
      });
      signedIn(got.token);
    } catch (err) {
      error.textContent = err.message;
    } finally {
      button.removeAttribute("aria-busy");
    }
  });
  fill(main, form, h("details.more.signin", h("summary", "Or paste an access token"), tokenForm));
  form.querySelector("#ks-username").focus();
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
