// Live run updates: one EventSource on GET /api/v1/events (server-sent events, the session
// cookie goes with it), never polling. Each `event: run` carries a RunSummary (plus the steps'
// statuses); the page refetches what it shows. A dropped stream reconnects by itself (the
// browser's EventSource does that); it closes when the page's signal aborts.
//
// An EventSource cannot send headers, so the workspace the app works in travels as
// `?workspaceId=` (X-Workspace-Id's value) — see the report on the contract.
//
// The back/forward cache: a page left for another document stays alive in the browser's cache,
// and an open stream would keep one of the few connections a browser opens to one server (six
// over HTTP/1.1) — after a handful of reloads or visits the next page's requests would wait
// forever. So the stream closes on `pagehide`; when the page comes back (`pageshow` with
// `persisted`) it opens again and `onResume` lets the page catch up with what it missed.

import { storedWorkspaceId } from "./api.js";

export function subscribeRuns({ flowId, signal, onRun, onState, onResume }) {
  if (typeof EventSource === "undefined") return;
  const query = new URLSearchParams();
  if (flowId) query.set("flowId", flowId);
  const workspaceId = storedWorkspaceId();
  if (workspaceId) query.set("workspaceId", workspaceId);
  const url = `/api/v1/events${query.size ? `?${query}` : ""}`;
  let source = null;

  function open() {
    const stream = new EventSource(url);
    stream.addEventListener("run", (event) => {
      let summary;
      try {
        summary = JSON.parse(event.data);
      } catch {
        return; // a malformed message is skipped; the next one refreshes the view anyway
      }
      if (summary?.id) onRun(summary);
    });
    stream.addEventListener("open", () => onState?.("open"));
    stream.addEventListener("error", () => onState?.(stream.readyState === EventSource.CLOSED ? "closed" : "reconnecting"));
    source = stream;
  }

  function close() {
    source?.close();
    source = null;
  }

  const hide = () => close();
  const show = (event) => {
    if (!event.persisted || source || signal?.aborted) return;
    open();
    onResume?.();
  };
  addEventListener("pagehide", hide);
  addEventListener("pageshow", show);
  signal?.addEventListener(
    "abort",
    () => {
      close();
      removeEventListener("pagehide", hide);
      removeEventListener("pageshow", show);
    },
    { once: true },
  );
  open();
  return { close };
}
