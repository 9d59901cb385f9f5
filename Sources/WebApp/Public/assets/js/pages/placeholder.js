// Flows and Runs arrive with Flow Studio (the next issue); until then they say so.

import { h } from "../dom.js";
import { icon } from "../icons.js";

const COPY = {
  flows: {
    title: "Flows",
    icon: "flows",
    heading: "Flow Studio comes next",
    text: "Soon you will build flows here: a trigger, then steps such as Send SMTP Email. Flows made through the API already run. Start by connecting your email so your flows can use it.",
  },
  runs: {
    title: "Runs",
    icon: "runs",
    heading: "Run history comes next",
    text: "Every run of a flow will be listed here with each step's input, output and the SMTP server's answer. Until then, GET /api/v1/runs has the history.",
  },
};

export const title = "Flows";

export function render({ shell, content, params }) {
  const copy = COPY[params.kind] ?? COPY.flows;
  shell.header({ title: copy.title });
  content.append(
    h(
      "div",
      { class: "tile" },
      h(
        "div",
        { class: "empty" },
        h("span", { class: "empty__icon" }, icon(copy.icon, { className: "icon--lg" })),
        h("h2", { class: "empty__title" }, copy.heading),
        h("p", { class: "empty__text" }, copy.text),
        h("a", { class: "btn btn--primary", href: "/settings/credentials" }, "Go to Credentials"),
      ),
    ),
  );
}
