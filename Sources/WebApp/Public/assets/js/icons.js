// Posthorn's icons: 24×24 strokes drawn for this app, built with createElementNS (no innerHTML).
// Each shape is "p:<path d>", "c:cx cy r" or "r:x y w h rx".

const SHAPES = {
  menu: ["p:M4 6h16M4 12h16M4 18h16"],
  x: ["p:M6 6l12 12M18 6L6 18"],
  plus: ["p:M12 5v14M5 12h14"],
  minus: ["p:M5 12h14"],
  check: ["p:M5 12.5l4.5 4.5L19 7.5"],
  "check-circle": ["c:12 12 9", "p:M8 12.5l2.8 2.8L16 10"],
  "x-circle": ["c:12 12 9", "p:M9 9l6 6M15 9l-6 6"],
  alert: ["p:M12 3.5L2.8 19.5h18.4z", "p:M12 10v4M12 17h.01"],
  info: ["c:12 12 9", "p:M12 11v5M12 8h.01"],
  loader: ["p:M12 3a9 9 0 1 1-9 9"],
  clock: ["c:12 12 9", "p:M12 7v5l3 2"],
  "minus-circle": ["c:12 12 9", "p:M8 12h8"],
  "help-circle": ["c:12 12 9", "p:M9.5 9.5a2.5 2.5 0 1 1 3.4 2.3c-.6.3-.9.8-.9 1.4v.3M12 17h.01"],
  "more-circle": ["c:12 12 9", "p:M8 12h.01M12 12h.01M16 12h.01"],
  server: ["r:3 4 18 7 2", "r:3 13 18 7 2", "p:M7 7.5h.01M7 16.5h.01"],
  mail: ["r:3 5 18 14 2", "p:M3.5 6.5l8.5 6 8.5-6"],
  key: ["c:8 15 4", "p:M11 12l8-8M16 7l2.5 2.5M14 9l2 2"],
  users: ["c:9 8 3.5", "p:M2.5 20c0-3.6 2.9-6 6.5-6s6.5 2.4 6.5 6M16 4.5a3.5 3.5 0 0 1 0 7M21.5 20c0-2.7-1.6-4.8-4-5.6"],
  flows: ["r:3 3 6 6 1.5", "r:15 15 6 6 1.5", "p:M9 6h5a3 3 0 0 1 3 3v6"],
  runs: ["p:M3 12h4l3-8 4 16 3-8h4"],
  copy: ["r:9 9 12 12 2", "p:M5 15H4.5A1.5 1.5 0 0 1 3 13.5v-9A1.5 1.5 0 0 1 4.5 3h9A1.5 1.5 0 0 1 15 4.5V5"],
  eye: ["p:M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z", "c:12 12 3"],
  "eye-off": ["p:M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z", "c:12 12 3", "p:M3 3l18 18"],
  "chevron-up-down": ["p:M8 9l4-4 4 4M8 15l4 4 4-4"],
  "chevron-right": ["p:M9 6l6 6-6 6"],
  "sign-out": ["p:M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 17l5-5-5-5M15 12H3"],
  trash: ["p:M4 7h16M10 11v6M14 11v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3"],
  pencil: ["p:M4 20h4L19 9l-4-4L4 16zM13.5 6.5l4 4"],
  zap: ["p:M13 2L4 14h7l-1 8 9-12h-7z"],
  lock: ["r:5 11 14 10 2", "p:M8 11V7a4 4 0 0 1 8 0v4"],
  building: ["p:M4 21V5a2 2 0 0 1 2-2h8a2 2 0 0 1 2 2v16M16 9h2a2 2 0 0 1 2 2v10M3 21h18M8 7h4M8 11h4M8 15h4"],
  play: ["p:M7 4.5v15l12-7.5z"],
  search: ["c:11 11 7", "p:M20 20l-4-4"],
  grip: ["c:9 6 1", "c:15 6 1", "c:9 12 1", "c:15 12 1", "c:9 18 1", "c:15 18 1"],
  "arrow-up": ["p:M12 19V5M6 11l6-6 6 6"],
  "arrow-down": ["p:M12 5v14M6 13l6 6 6-6"],
  globe: ["c:12 12 9", "p:M3 12h18M12 3c2.5 2.6 3.8 5.6 3.8 9s-1.3 6.4-3.8 9c-2.5-2.6-3.8-5.6-3.8-9S9.5 5.6 12 3z"],
  code: ["p:M8 7l-5 5 5 5M16 7l5 5-5 5"],
  webhook: ["c:6 17 2.5", "c:18 17 2.5", "c:12 6 2.5", "p:M10.8 8.2L7.3 14.8M8.5 17h7M13.2 8.2l3.5 6.6"],
  hand: ["p:M8 13V5.5a1.5 1.5 0 0 1 3 0V12M11 11V4.5a1.5 1.5 0 0 1 3 0V12M14 11.5V6.5a1.5 1.5 0 0 1 3 0V15a6 6 0 0 1-6 6h-.5a6 6 0 0 1-4.7-2.3L3.5 15.6a1.5 1.5 0 0 1 2.3-1.9L8 16"],
  refresh: ["p:M20 12a8 8 0 1 1-2.3-5.7M20 4v5h-5"],
  duplicate: ["r:8 8 12 12 2", "p:M4 16V6a2 2 0 0 1 2-2h10"],
  paperclip: ["p:M20 11.5l-8.1 8.1a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8"],
  link: ["p:M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"],
  "shield-check": ["p:M12 3l7.5 3v5.5c0 4.6-3.2 8.4-7.5 9.5-4.3-1.1-7.5-4.9-7.5-9.5V6z", "p:M8.5 12l2.5 2.5 4.5-4.5"],
};

const NS = "http://www.w3.org/2000/svg";

/** An icon. Decorative (aria-hidden) unless a `label` is given. */
export function icon(name, { label, className = "" } = {}) {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon ${className}`.trim());
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else {
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
  }
  for (const shape of SHAPES[name] ?? SHAPES.info) {
    const [kind, data] = [shape[0], shape.slice(2)];
    let el;
    if (kind === "p") {
      el = document.createElementNS(NS, "path");
      el.setAttribute("d", data);
    } else {
      const n = data.split(" ");
      if (kind === "c") {
        el = document.createElementNS(NS, "circle");
        el.setAttribute("cx", n[0]);
        el.setAttribute("cy", n[1]);
        el.setAttribute("r", n[2]);
      } else {
        el = document.createElementNS(NS, "rect");
        ["x", "y", "width", "height", "rx"].forEach((attr, i) => el.setAttribute(attr, n[i]));
      }
    }
    svg.append(el);
  }
  return svg;
}

/** Replaces every `<span data-icon="name">` under `root` (template markup) by its icon. */
export function hydrateIcons(root) {
  for (const slot of root.querySelectorAll("[data-icon]")) {
    const svg = icon(slot.dataset.icon, { className: slot.className });
    slot.replaceWith(svg);
  }
  return root;
}
