// One run (/runs/{id}): the full view of a run — trigger, each step's parameters, output and
// error — updated live while it runs (an event for it → GET /api/v1/runs/{id} again).

import { api } from "../api.js";
import { busy, formAlert } from "../components/form.js";
import { runView, STATUS_TEXT } from "../components/run-view.js";
import { announce, toast } from "../components/toast.js";
import { h, replaceChildren } from "../dom.js";
import { subscribeRuns } from "../events.js";
import { icon } from "../icons.js";

export const title = "Run";

export async function render({ shell, content, signal, params }) {
  const runId = params.runId;
  shell.header({ title: "Run" });
  const slot = h("div", { class: "tile run-page" }, h("div", { "aria-busy": "true", class: "item" }, h("span", { class: "skeleton skeleton--title" })));
  content.append(h("p", { class: "back-link" }, h("a", { href: "/runs" }, icon("chevron-right", { className: "icon--flip" }), "All runs")), slot);

  let flow = null;
  let nodes = new Map();
  let shown = null;
  const open = new Set();

  async function load() {
    try {
      const run = await api(`/runs/${encodeURIComponent(runId)}`, { signal });
      if (!flow || flow.id !== run.flowId) flow = await api(`/flows/${encodeURIComponent(run.flowId)}`, { signal }).catch(() => null);
      if (shown && JSON.stringify(shown) === JSON.stringify(run)) return run; // nothing new to draw
      if (shown && shown.status !== run.status) announce(`Run ${STATUS_TEXT[run.status]?.toLowerCase() ?? run.status}.`);
      shown = run;
      shell.setTitle(flow ? `Run of ${flow.name}` : "Run");
      replaceChildren(
        slot,
        runView(run, {
          nodes,
          open,
          planned: flow ? flow.steps.map(({ id, type }) => ({ id, type })) : [],
          flowName: flow?.name ?? `deleted flow ${run.flowId}`,
          flowHref: flow ? `/flows/${encodeURIComponent(flow.id)}` : null,
          onCancel: async (button) => {
            busy(button, "Cancelling…");
            try {
              await api(`/runs/${encodeURIComponent(run.id)}/cancel`, { method: "POST" });
              announce("Cancellation requested.");
              shell.focusTitle(); // the button goes away with the next update
            } catch (error) {
              toast(error.message, { kind: "error" });
              busy(button);
            }
          },
        }),
      );
      return run;
    } catch (error) {
      if (error.name === "AbortError") return null;
      replaceChildren(slot);
      formAlert(slot, error.status === 404 ? { message: "This run was not found in this workspace." } : error);
      return null;
    }
  }

  nodes = new Map(((await api("/nodes", { signal }).catch(() => ({ nodes: [] }))).nodes ?? []).map((n) => [n.type, n]));
  const run = await load();
  // Events that arrive while a fetch is under way fetch once more after it (never in parallel,
  // so an older answer cannot draw over a newer one).
  let inFlight = null;
  let again = false;
  const refresh = () => {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = load().finally(() => {
      inFlight = null;
      if (again) {
        again = false;
        refresh();
      }
    });
  };
  if (run) subscribeRuns({ flowId: run.flowId, signal, onRun: (summary) => summary.id === runId && refresh(), onResume: refresh });
}
