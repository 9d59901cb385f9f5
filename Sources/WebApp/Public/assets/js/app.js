// Posthorn's web app: boot, the client-side router (History API) and the shell.
//
// Routing: every same-origin <a href="/…"> click is intercepted and becomes history.pushState +
// render; Back/Forward arrive as popstate. A route is a path (or pattern) and a page module with
// `render(ctx)`. Pages inside the shell get `ctx.shell` (title, action, content); sign-in, set-up
// and invite pages get the whole screen. Each render gets an AbortSignal that is aborted when
// the user navigates on, so a slow answer never draws over the next page.

import { api, setUnauthorizedHandler } from "./api.js";
import { createShell } from "./components/shell.js";
import { toast } from "./components/toast.js";
import { formAlert } from "./components/form.js";
import { h, replaceChildren } from "./dom.js";
import { clearSession, currentSession, currentWorkspace, loadSession, switchWorkspace } from "./session.js";
import { createWorkspaceDialog } from "./components/workspace-dialog.js";
import * as signin from "./pages/signin.js";
import * as setup from "./pages/setup.js";
import * as invite from "./pages/invite.js";
import * as credentials from "./pages/credentials.js";
import * as tokens from "./pages/tokens.js";
import * as members from "./pages/members.js";
import * as placeholder from "./pages/placeholder.js";
import * as notFound from "./pages/not-found.js";

const ROUTES = [
  // `/` has nothing of its own yet: the Credentials page is Step 1 of the spec. When Flow Studio
  // lands, `/` becomes the flow list.
  { path: "/", redirect: "/settings/credentials" },
  { path: "/settings/oauth", redirect: "/settings/credentials" }, // the server answers 302 too
  { path: "/signin", page: signin, public: true },
  { path: "/setup", page: setup, public: true },
  { path: "/invite", page: invite, public: true },
  { path: "/settings/credentials", page: credentials },
  { path: "/settings/tokens", page: tokens },
  { path: "/settings/members", page: members },
  { path: /^\/flows(\/.*)?$/, page: placeholder, params: { kind: "flows" } },
  { path: /^\/runs(\/.*)?$/, page: placeholder, params: { kind: "runs" } },
];

const app = document.getElementById("app");
let shell = null;
let controller = null;
let sessionChecked = false;
let renderedPath = null; // path + query last rendered: a change of the #fragment alone is no new page

export function navigate(to, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  render({ focus: true });
}

async function render({ focus = false } = {}) {
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  renderedPath = location.pathname + location.search;
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const route = ROUTES.find((r) => (typeof r.path === "string" ? r.path === path : r.path.test(path)));

  if (route?.redirect) return navigate(route.redirect, { replace: true });

  if (!sessionChecked) {
    try {
      await loadSession({ signal });
      sessionChecked = true;
    } catch (error) {
      if (error.name === "AbortError") return;
      return showFatal(error);
    }
  }
  const session = currentSession();

  if (route?.public) {
    shell = null;
    document.title = `${route.page.title ?? "Posthorn"} · Posthorn`;
    return route.page.render({ root: app, signal, session, navigate, params: route.params ?? {} });
  }
  if (!session) {
    return navigate(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  }

  if (!shell) {
    shell = createShell({ onSwitchWorkspace, onSignOut: signOut, onCreateWorkspace });
    replaceChildren(app, shell.root);
  }
  const workspace = currentWorkspace();
  shell.update({ path, session, workspace });
  const page = route?.page ?? notFound;
  replaceChildren(shell.content);
  shell.header({ title: "" });
  try {
    await page.render({ shell, content: shell.content, signal, session, workspace, navigate, params: route?.params ?? {} });
  } catch (error) {
    if (error.name === "AbortError") return;
    const slot = h("div");
    formAlert(slot, error);
    shell.content.append(slot);
  }
  document.title = `${shell.titleText ?? page.title ?? "Posthorn"} · Posthorn`;
  if (focus) shell.focusTitle(); // tell screen readers the page changed
}

function onSwitchWorkspace(workspace) {
  switchWorkspace(workspace.id);
  toast(`Switched to ${workspace.name}`, { kind: "info", timeout: 3000 });
  render({ focus: true });
}

function onCreateWorkspace(opener) {
  createWorkspaceDialog({
    opener,
    onCreated: async (workspace) => {
      await loadSession();
      switchWorkspace(workspace.id);
      toast(`Workspace ${workspace.name} created`);
      render({ focus: true });
    },
  });
}

async function signOut() {
  try {
    await api("/session", { method: "DELETE", expect401: true });
  } catch (error) {
    if (error.status !== 401) {
      toast(`Could not sign out: ${error.message}`, { kind: "error" });
      return;
    }
  }
  clearSession();
  shell = null;
  navigate("/signin", { replace: true });
  toast("Signed out", { kind: "info", timeout: 3000 });
}

function showFatal(error) {
  shell = null;
  replaceChildren(
    app,
    h(
      "div",
      { class: "auth" },
      h(
        "div",
        { class: "auth__card stack" },
        h("h1", {}, "Posthorn is not answering"),
        h("p", { class: "muted" }, error.message),
        h("button", { type: "button", class: "btn btn--primary", onclick: () => location.reload() }, "Try again"),
      ),
    ),
  );
}

// A lost session (401 from any call) goes to sign-in, then back to where the user was.
setUnauthorizedHandler(() => {
  clearSession();
  shell = null;
  if (location.pathname !== "/signin") navigate(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
});

// Links: same-origin, left click without modifier keys, no target/download → client-side.
document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  if (a.classList.contains("skip-link")) {
    event.preventDefault(); // keep the URL; just move the focus
    document.getElementById("main")?.focus();
    return;
  }
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/api/") || url.pathname.startsWith("/assets/")) return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return; // in-page anchor
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

addEventListener("popstate", () => {
  if (location.pathname + location.search !== renderedPath) render({ focus: true });
});

render();
