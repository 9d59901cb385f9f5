// Posthorn's web app: boot, the client-side router (History API) and the shell.
//
// Routing: every same-origin <a href="/…"> click is intercepted and becomes history.pushState +
// render; Back/Forward arrive as popstate. A route is a path (or pattern) and a page module with
// `render(ctx)`. Pages inside the shell get `ctx.shell` (title, action, content); sign-in, set-up
// and invite pages get the whole screen. Each render gets an AbortSignal that is aborted when
// the user navigates on, so a slow answer never draws over the next page.
//
// Two hooks for pages that hold state (Flow Studio):
// - `ctx.setLeaveGuard(fn)`: `fn(toPath)` is true when leaving for `toPath` would lose unsaved
//   work; navigation, Back/Forward and switching workspace then ask first.
// - `render` may return `{ onLocation(path) }`: a new address that the page shows itself (a run
//   opened in the studio) returns true and the page is not drawn again.

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
import * as apiReference from "./pages/api-reference.js";
import * as flows from "./pages/flows.js";
import * as studio from "./pages/studio.js";
import * as runs from "./pages/runs.js";
import * as run from "./pages/run.js";
import * as domains from "./pages/domains.js";
import * as suppressions from "./pages/suppressions.js";
import * as signInProviders from "./pages/sign-in-providers.js";
import * as notFound from "./pages/not-found.js";
import * as oauthCallback from "./pages/oauth-callback.js";
import { confirmDialog } from "./components/dialog.js";

const ROUTES = [
  { path: "/", redirect: "/flows" },
  { path: "/settings/oauth", redirect: "/settings/credentials" }, // the server answers 302 too
  // Back from an email provider's sign-in. Public to the router: the page drops the code from the
  // address before anything else, and handles a lost session itself (see pages/oauth-callback.js).
  { path: "/settings/oauth/callback", page: oauthCallback, public: true },
  { path: "/signin", page: signin, public: true },
  { path: "/setup", page: setup, public: true },
  { path: "/invite", page: invite, public: true },
  { path: "/settings/credentials", page: credentials },
  { path: "/settings/tokens", page: tokens },
  { path: "/settings/members", page: members },
  { path: "/settings/suppressions", page: suppressions },
  { path: "/settings/sign-in-providers", page: signInProviders },
  { path: "/settings/api-reference", page: apiReference },
  { path: "/flows", page: flows },
  // The studio, optionally with one of its runs open: /flows/{id}, /flows/{id}/runs/{runId}.
  { path: /^\/flows\/([^/]+)(?:\/runs\/([^/]+))?$/, page: studio, names: ["flowId", "runId"] },
  { path: "/runs", page: runs },
  { path: /^\/runs\/([^/]+)$/, page: run, names: ["runId"] },
  { path: "/domains", page: domains },
];

const app = document.getElementById("app");
let shell = null;
let controller = null;
let sessionChecked = false;
let renderedPath = null; // path + query last rendered: a change of the #fragment alone is no new page
let leaveGuard = null; // set by the page: (toPath) => true when leaving would lose unsaved work
let pageHandle = null; // what the page's render returned ({ onLocation })
let bypassGuard = false; // the user already agreed to leave (Back after "Leave without saving")

/** Asks before unsaved work is lost; true when the user may go to `to`. */
async function mayLeave(to) {
  if (!leaveGuard?.(to)) return true;
  return confirmDialog({
    title: "Leave without saving?",
    body: h("p", {}, "Your changes to this flow are not saved. Stay to save them, or leave and lose them."),
    confirmLabel: "Leave without saving",
  });
}

export async function navigate(to, { replace = false } = {}) {
  if (!(await mayLeave(new URL(to, location.href).pathname))) return;
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  render({ focus: true });
}

function routeParams(route, path) {
  if (typeof route.path === "string" || !route.names) return route.params ?? {};
  const match = route.path.exec(path);
  return Object.fromEntries(route.names.map((name, i) => [name, match[i + 1] ? decodeURIComponent(match[i + 1]) : null]));
}

async function render({ focus = false } = {}) {
  const path = location.pathname.replace(/\/+$/, "") || "/";
  if (shell && pageHandle?.onLocation?.(path)) {
    renderedPath = location.pathname + location.search;
    return;
  }
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  renderedPath = location.pathname + location.search;
  leaveGuard = null;
  pageHandle = null;
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
    return route.page.render({ root: app, signal, session, navigate, params: routeParams(route, path) });
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
  shell.setWide(false);
  try {
    const handle = await page.render({
      shell,
      content: shell.content,
      signal,
      session,
      workspace,
      navigate,
      params: route ? routeParams(route, path) : {},
      setLeaveGuard: (fn) => {
        if (!signal.aborted) leaveGuard = fn;
      },
    });
    if (!signal.aborted) pageHandle = handle ?? null;
  } catch (error) {
    if (error.name === "AbortError") return;
    const slot = h("div");
    formAlert(slot, error);
    shell.content.append(slot);
  }
  document.title = `${shell.titleText ?? page.title ?? "Posthorn"} · Posthorn`;
  if (focus) shell.focusTitle(); // tell screen readers the page changed
}

async function onSwitchWorkspace(workspace) {
  if (!(await mayLeave(null))) return;
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
  if (!(await mayLeave(null))) return;
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
  leaveGuard = null;
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
  leaveGuard = null; // the session is gone: nothing can be saved any more
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

// Back/Forward: the address has already changed. With unsaved work, put it back, ask, and only
// then go (Back again, this time without asking).
addEventListener("popstate", async () => {
  if (location.pathname + location.search === renderedPath) return;
  if (!bypassGuard && leaveGuard?.(location.pathname)) {
    history.pushState(null, "", renderedPath);
    if (!(await mayLeave(null))) return;
    bypassGuard = true;
    history.back();
    return;
  }
  bypassGuard = false;
  render({ focus: true });
});

// Closing the tab or reloading with unsaved work: the browser's own question.
addEventListener("beforeunload", (event) => {
  if (leaveGuard?.(null)) {
    event.preventDefault();
    event.returnValue = ""; // older Chromium needs it set
  }
});

render();
