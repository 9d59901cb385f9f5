// Status badges: colour + icon + word, never colour alone.

import { h } from "../dom.js";
import { icon } from "../icons.js";

const ICONS = {
  succeeded: "check-circle",
  failed: "x-circle",
  running: "loader",
  waiting: "clock",
  ambiguous: "help-circle",
  cancelled: "minus-circle",
  queued: "more-circle",
  warning: "alert",
  neutral: null,
};

export function badge(status, text, { iconName } = {}) {
  const name = iconName ?? ICONS[status];
  return h(
    "span",
    { class: `badge badge--${status}` },
    name ? icon(name, { className: status === "running" ? "icon--spin" : "" }) : null,
    text,
  );
}
