// The frame of the pages outside the workspace (sign-in, set-up, invite): the mark and a card.

import { h, replaceChildren } from "../dom.js";

export function authLayout(root, { title, lead, body = [], foot }) {
  const heading = h("h1", { tabindex: "-1" }, title);
  replaceChildren(
    root,
    h(
      "main",
      { class: "auth", id: "main", tabindex: "-1" },
      h(
        "a",
        { class: "brand auth__brand", href: "/" },
        h("img", { class: "brand__mark", src: "/assets/img/posthorn.svg", alt: "", width: "28", height: "28" }),
        h("span", {}, "Posthorn"),
      ),
      h("div", { class: "auth__card" }, heading, lead ? h("p", { class: "auth__lead" }, lead) : null, body),
      foot ? h("p", { class: "auth__foot" }, foot) : null,
    ),
  );
  return heading;
}

/** Byte length as the server counts it (UTF-8), for the 12-to-72-byte password rule. */
export function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

/** The client-side password rule shared by set-up and invite. Returns a message or null. */
export function passwordProblem(password) {
  if (!password) return "Enter a password.";
  if (utf8Length(password) < 12) return "Use at least 12 characters.";
  if (utf8Length(password) > 72) return "Use at most 72 bytes (accented letters and emoji count as 2 to 4).";
  return null;
}

export const PASSWORD_HELP = "12 to 72 characters. A long passphrase is easiest to remember.";

/** "john@example.com" looks like an address (the server has the last word). */
export function looksLikeEmail(value) {
  return /^[^\s@]+@[^\s@]+$/.test(value);
}
