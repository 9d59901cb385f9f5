// Runs (/runs): the workspace's run history, newest first, filtered by status, "Load more" with
// the API's cursor, and live: new runs appear at the top as their events arrive.

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
    label: "Runs of this workspace",
    emptyText: "No runs yet. Open a flow and press Run, or call its webhook.",
    flowName: (id) => names.get(id) ?? `Deleted flow ${id}`,
    hrefFor: (run) => `/runs/${encodeURIComponent(run.id)}`,
  });
  content.append(h("div", { class: "tile run-history--page" }, list.root));
  try {
    for (const flow of (await api("/flows", { signal })).flows ?? []) names.set(flow.id, flow.name);
  } catch (error) {
    if (error.name === "AbortError") return;
    // The runs still list without names.
  }
  await list.load();
  // Back from the back/forward cache: events were missed meanwhile, so the list is read again.
  subscribeRuns({ signal, onRun: (summary) => list.upsert(summary), onResume: () => list.load() });
}
