// Runs (/runs): the workspace's run history, newest first, filtered by status, read by position
// wherever it is scrolled to (components/run-list.js), and live: new runs appear at the top
// as their events arrive.

import { api } from "../api.js";
import { createRunList } from "../components/run-list.js";
import { h } from "../dom.js";
import { subscribeRuns } from "../events.js";

export const title = "Runs";

export async function render({ shell, content, signal }) {
  shell.header({ title: "Runs", lead: "Every run of every flow in this workspace: open one to see each step's parameters, output and the mail server's answer." });
  // Flow names for the rows (a deleted flow's runs stay, shown by id).
  const names = new Map();
  const list = createRunList({
    signal,
    pageSize: 50,
    morePageSize: 200,
    label: "Runs of this workspace",
    emptyText: "No runs yet. Open a flow and press Run, or call its webhook.",
    flowName: (id) => names.get(id) ?? `Deleted flow ${id}`,
    hrefFor: (run) => `/runs/${encodeURIComponent(run.id)}`,
  });
  content.append(h("div", { class: "tile run-history--page" }, list.root));
  // The names and the first page are asked for together; the rows wait for the names.
  const flows = api("/flows", { signal }).then(
    (answer) => {
      for (const flow of answer.flows ?? []) names.set(flow.id, flow.name);
    },
    () => {}, // the runs still list without names
  );
  await list.load({ before: flows });
  if (signal.aborted) return;
  // Back from the back/forward cache: events were missed meanwhile, so the list is read again.
  subscribeRuns({ signal, onRun: (summary) => list.upsert(summary), onResume: () => list.load() });
}
