// Domains (/domains): the workspace's sending domains. Each has DKIM keys (selector, algorithm,
// Active or Inactive, the DNS record to publish with copy buttons), the SPF and DMARC records
// Posthorn recommends for the SMTP credential the user picks, and Check DNS, which looks the
// records up and says, per record, what matched and what to change.
//
// Every member sees it all and may check DNS; admins add domains and keys, activate and remove
// them. A domain's card is redrawn whole after each change; the focus goes back to the control
// with the same `data-focus` (or to what the change made).

import { api } from "../api.js";
import { badge } from "../components/badge.js";
import { copyable } from "../components/copy.js";
import { confirmDialog } from "../components/dialog.js";
import { dnsRecord } from "../components/dns-record.js";
import { openDomainDialog } from "../components/domain-dialog.js";
import { busy, formAlert } from "../components/form.js";
import { announce, toast } from "../components/toast.js";
import { h, replaceChildren, timeElement, uid } from "../dom.js";
import { icon } from "../icons.js";

export const title = "Domains";

const ALGORITHM_NAME = { "rsa-sha256": "RSA", "ed25519-sha256": "Ed25519" };
// A check result's status: the badge's colour and icon, and its word.
const CHECK_STATUS = {
  match: { kind: "succeeded", word: "Match" },
  missing: { kind: "warning", word: "Missing" },
  mismatch: { kind: "failed", word: "Mismatch" },
  error: { kind: "ambiguous", word: "Error" },
};
const RECORD_NAME = { dkim: "DKIM", spf: "SPF", dmarc: "DMARC" };

export async function render({ shell, content, signal, workspace }) {
  const admin = workspace?.role === "admin";
  const headerAdd = admin ? h("button", { type: "button", class: "btn btn--primary" }, icon("plus"), "Add domain") : null;
  shell.header({
    title: "Domains",
    lead: "Sign the email your flows send with your own domain. Posthorn signs each message from a domain below with its active DKIM keys; publish the DNS records shown here, with the SPF and DMARC records Posthorn recommends, and check them.",
    actions: [headerAdd],
  });

  const listSlot = h("div", { class: "domains" }, skeleton());
  content.append(listSlot);

  let domains = [];
  let credentials = []; // the workspace's SMTP credentials, for the SPF picker
  let credentialsFailed = false;
  // Domain id → the credential id its SPF record is tailored to; kept in this browser, so Check DNS
  // compares with the SPF record the user published the next time too.
  const picked = new Map(Object.entries(readPicks()));
  const checks = new Map(); // domain id → the last Check DNS answer
  const tiles = new Map(); // domain id → its card

  headerAdd?.addEventListener("click", () => addDomain(headerAdd));

  async function load() {
    try {
      const [list, creds] = await Promise.all([
        api("/domains", { signal }),
        api("/credentials", { signal }).catch((error) => {
          if (error.name === "AbortError") throw error;
          credentialsFailed = true;
          return { credentials: [] };
        }),
      ]);
      credentials = (creds.credentials ?? []).filter((c) => (c.type ?? "smtp") === "smtp");
      domains = await Promise.all(
        (list.domains ?? []).map(async (domain) => {
          const credentialId = picked.get(domain.id);
          if (!credentialId) return domain;
          if (!credentials.some((c) => c.id === credentialId)) {
            picked.delete(domain.id); // that credential is gone
            return domain;
          }
          return api(`/domains/${encodeURIComponent(domain.id)}?credentialId=${encodeURIComponent(credentialId)}`, { signal }).catch((error) => {
            if (error.name === "AbortError") throw error;
            picked.delete(domain.id);
            return domain;
          });
        }),
      );
      writePicks(picked);
      drawAll();
    } catch (error) {
      if (error.name === "AbortError") return;
      const slot = h("div", { class: "tile" }, h("div", { class: "item" }));
      formAlert(slot.firstChild, error);
      slot.firstChild.append(h("button", { type: "button", class: "btn btn--sm", onclick: load }, "Try again"));
      replaceChildren(listSlot, slot);
    }
  }

  // ---- Drawing ------------------------------------------------------------------------------

  function drawAll() {
    tiles.clear();
    if (!domains.length) {
      replaceChildren(listSlot, emptyState());
      return;
    }
    replaceChildren(
      listSlot,
      domains.map((domain) => {
        const tile = domainTile(domain);
        tiles.set(domain.id, tile);
        return tile;
      }),
    );
  }

  /** Redraws one domain's card; the focus goes to `focus` (a data-focus value), else where it was. */
  function redraw(domain, { focus } = {}) {
    const index = domains.findIndex((d) => d.id === domain.id);
    if (index >= 0) domains[index] = domain;
    else domains.push(domain);
    const old = tiles.get(domain.id);
    const was = old?.contains(document.activeElement) ? document.activeElement.closest("[data-focus]")?.dataset.focus : null;
    const tile = domainTile(domain);
    tiles.set(domain.id, tile);
    if (old?.isConnected) old.replaceWith(tile);
    else drawAll();
    const target = focus ?? was;
    if (target) (tiles.get(domain.id)?.querySelector(`[data-focus="${CSS.escape(target)}"]`) ?? tiles.get(domain.id)?.querySelector("h2"))?.focus();
  }

  function emptyState() {
    return h(
      "div",
      { class: "tile" },
      h(
        "div",
        { class: "empty" },
        h("span", { class: "empty__icon" }, icon("shield-check", { className: "icon--lg" })),
        h("h2", { class: "empty__title" }, "No sending domains yet"),
        h(
          "p",
          { class: "empty__text" },
          "Sign with your own domain: Posthorn keeps a DKIM key for it and signs every message your flows send from it, so receivers can tell the mail is really yours and keep it out of spam. You publish the key's DNS record, with the SPF and DMARC records Posthorn recommends.",
        ),
        admin
          ? h("button", { type: "button", class: "btn", onclick: (event) => addDomain(event.currentTarget) }, icon("plus"), "Add domain")
          : h("p", { class: "empty__text" }, "Ask an admin of this workspace to add your domain; its DNS records will then show here."),
      ),
    );
  }

  function domainTile(domain) {
    const titleId = `domain-${domain.id}-title`;
    const keys = domain.keys ?? [];
    const check = checks.get(domain.id) ?? null;

    const checkButton = h("button", { type: "button", class: "btn btn--sm", "data-focus": "check", "aria-label": `Check DNS for ${domain.domain}` }, icon("refresh"), "Check DNS");
    const addKey = admin ? h("button", { type: "button", class: "btn btn--sm", "data-focus": "add-key", "aria-label": `Add key to ${domain.domain}` }, icon("plus"), "Add key") : null;
    const checkSlot = h("div", { class: "domain__check", hidden: !check });
    if (check) checkSlot.append(checkView(domain, check));

    const tile = h(
      "section",
      { class: "tile domain", "aria-labelledby": titleId, "data-domain": domain.id },
      h(
        "div",
        { class: "tile__header domain__header" },
        h("span", { class: "tile__icon" }, icon("globe")),
        h(
          "div",
          { class: "grow" },
          h("div", { class: "item__title-row" }, h("h2", { class: "tile__title domain__name", id: titleId, tabindex: "-1" }, domain.domain), copyable(domain.id, { label: "domain id" })),
          h("p", { class: "tile__desc" }, signingSummary(keys), " · added ", timeElement(domain.createdAt, { dateOnly: true })),
        ),
        h("div", { class: "domain__actions" }, checkButton, addKey),
      ),
      checkSlot,
      keysSection(domain, keys, check),
      recommendedSection(domain),
      admin
        ? h("div", { class: "tile__footer domain__danger" }, removeDomainButton(domain))
        : h("p", { class: "tile__footer" }, "Only workspace admins can add, activate or remove keys."),
    );

    checkButton.addEventListener("click", () => checkDns(domain, checkButton, checkSlot));
    addKey?.addEventListener("click", () =>
      openDomainDialog({
        domain,
        opener: addKey,
        fallbackFocus: () => tiles.get(domain.id)?.querySelector('[data-focus="add-key"]'),
        onAdded: (answer, key) => added(answer, key, false),
      }),
    );
    return tile;
  }

  function signingSummary(keys) {
    const active = [...new Set(keys.filter((k) => k.active).map((k) => ALGORITHM_NAME[k.algorithm] ?? k.algorithm))];
    const count = `${keys.length} ${keys.length === 1 ? "key" : "keys"}`;
    if (!active.length) return `${count} · not signing: no active key`;
    return `${count} · signs with ${active.join(" and ")}`;
  }

  // ---- Keys ---------------------------------------------------------------------------------

  function keysSection(domain, keys, check) {
    const headingId = uid("keys-title");
    return h(
      "section",
      { class: "domain__section", "aria-labelledby": headingId },
      h("h3", { class: "section__title", id: headingId }, "DKIM keys"),
      keys.length
        ? h("ul", { class: "dkim-keys" }, keys.map((key) => keyItem(domain, key, check)))
        : h("p", { class: "muted" }, admin ? "No keys: mail from this domain is not signed. Add a key to sign it." : "No keys: mail from this domain is not signed."),
    );
  }

  function keyItem(domain, key, check) {
    const result = check?.results?.find((r) => r.record === "dkim" && r.keyId === key.id);
    const algorithm = ALGORITHM_NAME[key.algorithm] ?? key.algorithm;
    const actions = [];
    if (admin && !key.active) {
      const activate = h("button", { type: "button", class: "btn btn--sm", "data-focus": `activate-${key.id}`, "aria-label": `Activate ${key.selector}` }, "Activate");
      activate.addEventListener("click", () => activateKey(domain, key, activate, result));
      actions.push(activate);
    }
    if (admin) {
      const remove = h("button", { type: "button", class: "btn btn--sm btn--ghost btn--icon btn--danger-text", "data-focus": `remove-${key.id}`, "aria-label": `Remove key ${key.selector}`, title: "Remove key" }, icon("trash"));
      remove.addEventListener("click", () => removeKey(domain, key, remove));
      actions.push(remove);
    }
    let hint = null;
    if (!key.active) {
      hint = key.activatedAt
        ? "Replaced by a newer key. Keep its DNS record published for a few days, while mail it signed is still on its way; then remove it."
        : "Not signing yet. Publish its DNS record, check DNS, then activate it.";
    }
    return h(
      "li",
      { class: `dkim-key${key.active ? " dkim-key--active" : ""}`, "data-key": key.id },
      h(
        "div",
        { class: "dkim-key__head" },
        h(
          "div",
          { class: "dkim-key__title" },
          h("h4", { class: "dkim-key__selector", tabindex: "-1", "data-focus": `key-${key.id}` }, h("code", {}, key.selector)),
          h("span", { class: "dkim-key__algorithm" }, algorithm),
          key.active ? badge("succeeded", "Active") : badge("neutral", "Inactive"),
          result ? resultBadge(result, "DNS: ") : null,
        ),
        actions.length ? h("div", { class: "item__actions" }, actions) : null,
      ),
      h(
        "p",
        { class: "item__meta" },
        h("code", {}, key.algorithm),
        h("span", {}, "Created ", timeElement(key.createdAt, { dateOnly: true })),
        key.activatedAt ? h("span", {}, "Activated ", timeElement(key.activatedAt, { dateOnly: true })) : h("span", {}, "Never activated"),
      ),
      hint ? h("p", { class: "field__help dkim-key__hint" }, hint) : null,
      key.dnsRecord ? dnsRecord(key.dnsRecord, { label: `the ${key.selector} DKIM record for ${domain.domain}` }) : null,
    );
  }

  async function activateKey(domain, key, button, result) {
    // Mail is signed with it at once: until its record is published, receivers fail those
    // signatures. Without a matching check, ask first.
    if (result?.status !== "match") {
      const sure = await confirmDialog({
        title: result ? `Activate ${key.selector} before its record is published?` : `Activate ${key.selector}?`,
        body: h(
          "p",
          {},
          result
            ? `The last DNS check found ${result.status === "mismatch" ? "another value at" : result.status === "missing" ? "nothing at" : "no answer for"} ${key.dnsRecord?.name ?? "its record"}. Posthorn signs mail from ${domain.domain} with this key at once, and receivers can't verify those signatures until the record is published.`
            : `Posthorn signs mail from ${domain.domain} with this key at once, and receivers can verify those signatures only once its DNS record is published. Check DNS first to be sure it is.`,
        ),
        confirmLabel: "Activate",
        danger: false,
        opener: button,
      });
      if (!sure) return;
    }
    busy(button, "Activating…");
    try {
      const answer = await api(`/domains/${encodeURIComponent(domain.id)}/keys/${encodeURIComponent(key.id)}/activate`, { method: "POST" });
      const replaced = (domain.keys ?? []).filter((k) => k.active && k.algorithm === key.algorithm && k.id !== key.id);
      redraw(answer, { focus: `key-${key.id}` });
      toast(
        replaced.length
          ? `${key.selector} now signs ${key.algorithm} mail from ${domain.domain}. ${replaced.map((k) => k.selector).join(", ")} is inactive: keep its DNS record published for a few days.`
          : `${key.selector} now signs ${key.algorithm} mail from ${domain.domain}.`,
      );
    } catch (error) {
      busy(button);
      if (error.name === "AbortError") return;
      toast(`Could not activate ${key.selector}: ${error.message}`, { kind: "error" });
    }
  }

  async function removeKey(domain, key, opener) {
    const others = (domain.keys ?? []).filter((k) => k.id !== key.id && k.active && k.algorithm === key.algorithm);
    const body = h(
      "div",
      { class: "stack-sm" },
      key.active && !others.length
        ? h("p", {}, `It is the active ${ALGORITHM_NAME[key.algorithm] ?? key.algorithm} key: mail from ${domain.domain} is no longer signed with ${ALGORITHM_NAME[key.algorithm] ?? key.algorithm} once it is removed.`)
        : null,
      h("p", {}, "Posthorn destroys its private key; this can't be undone. Mail it signed that is still on its way fails DKIM if its DNS record is gone, so remove the record from DNS a few days later."),
    );
    let answer = null;
    const removed = await confirmDialog({
      title: `Remove key ${key.selector}?`,
      body,
      confirmLabel: "Remove key",
      progressLabel: "Removing…",
      opener,
      fallbackFocus: () => tiles.get(domain.id)?.querySelector('[data-focus="add-key"], h2'),
      action: async () => {
        answer = await api(`/domains/${encodeURIComponent(domain.id)}/keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
      },
    });
    if (!removed) return;
    const next = answer ?? { ...domain, keys: (domain.keys ?? []).filter((k) => k.id !== key.id) };
    redraw(next, { focus: admin ? "add-key" : undefined });
    toast(`Key ${key.selector} removed from ${domain.domain}.`);
  }

  function removeDomainButton(domain) {
    const button = h("button", { type: "button", class: "btn btn--sm btn--danger-text", "aria-label": `Remove domain ${domain.domain}` }, icon("trash"), "Remove domain");
    button.addEventListener("click", async () => {
      const n = (domain.keys ?? []).length;
      const removed = await confirmDialog({
        title: `Remove ${domain.domain}?`,
        body: h(
          "p",
          {},
          `${n ? `Its ${n === 1 ? "key is" : `${n} keys are`} destroyed and mail` : "Mail"} from ${domain.domain} is no longer signed by Posthorn. This can't be undone. Remove its DNS records once mail already signed has arrived, in a few days.`,
        ),
        confirmLabel: "Remove domain",
        progressLabel: "Removing…",
        opener: button,
        fallbackFocus: () => headerAdd ?? document.querySelector("main h1"),
        action: () => api(`/domains/${encodeURIComponent(domain.id)}`, { method: "DELETE" }),
      });
      if (!removed) return;
      domains = domains.filter((d) => d.id !== domain.id);
      checks.delete(domain.id);
      picked.delete(domain.id);
      writePicks(picked);
      drawAll();
      toast(`${domain.domain} removed.`);
    });
    return button;
  }

  // ---- SPF and DMARC -------------------------------------------------------------------------

  function recommendedSection(domain) {
    const headingId = uid("recommended-title");
    const recommended = domain.recommended ?? {};
    const selectId = uid("spf-credential");
    const chosen = picked.get(domain.id) ?? "";
    const select = h(
      "select",
      { class: "select domain__picker", id: selectId, "data-focus": "credential", "aria-describedby": `${selectId}-help` },
      h("option", { value: "" }, "Any provider (general record)"),
      credentials.map((c) => h("option", { value: c.id }, c.host ? `${c.name} (${c.host})` : c.name)),
    );
    select.value = credentials.some((c) => c.id === chosen) ? chosen : "";
    const progress = h("p", { class: "field__help", role: "status" });
    const records = h(
      "div",
      { class: "domain__records" },
      h("div", { class: "domain__record" }, h("h4", { class: "domain__record-title" }, "SPF"), recommended.spf ? dnsRecord(recommended.spf, { label: `the SPF record for ${domain.domain}`, note: recommended.spf.note }) : h("p", { class: "muted" }, "No SPF record to recommend.")),
      h("div", { class: "domain__record" }, h("h4", { class: "domain__record-title" }, "DMARC"), recommended.dmarc ? dnsRecord(recommended.dmarc, { label: `the DMARC record for ${domain.domain}`, note: recommended.dmarc.note }) : h("p", { class: "muted" }, "No DMARC record to recommend.")),
    );
    select.addEventListener("change", async () => {
      const credentialId = select.value;
      const name = select.selectedOptions[0]?.textContent ?? "";
      select.setAttribute("aria-busy", "true");
      records.classList.add("domain__records--stale");
      progress.textContent = "Updating the SPF record…";
      try {
        const query = credentialId ? `?credentialId=${encodeURIComponent(credentialId)}` : "";
        const answer = await api(`/domains/${encodeURIComponent(domain.id)}${query}`, { signal });
        if (credentialId) picked.set(domain.id, credentialId);
        else picked.delete(domain.id);
        writePicks(picked);
        redraw(answer, { focus: "credential" });
        announce(credentialId ? `SPF record updated for ${name}.` : "SPF record updated for any provider.");
      } catch (error) {
        if (error.name === "AbortError") return;
        select.removeAttribute("aria-busy");
        records.classList.remove("domain__records--stale");
        select.value = picked.get(domain.id) ?? "";
        progress.textContent = "";
        toast(`Could not update the SPF record: ${error.message}`, { kind: "error" });
      }
    });
    return h(
      "section",
      { class: "domain__section", "aria-labelledby": headingId },
      h("h3", { class: "section__title", id: headingId }, "Recommended SPF and DMARC records"),
      h("p", { class: "section__lead" }, "SPF names the servers allowed to send as your domain; DMARC tells receivers what to do with mail that fails DKIM and SPF. Publish one of each for the domain."),
      h(
        "div",
        { class: "field" },
        h("label", { class: "field__label", for: selectId }, "SMTP credential that sends"),
        select,
        h(
          "p",
          { class: "field__help", id: `${selectId}-help` },
          credentialsFailed
            ? "The credentials could not be loaded; the SPF record is the general one."
            : credentials.length
              ? "Its provider's servers go into the SPF record (Gmail's include:_spf.google.com, …)."
              : "No SMTP credential in this workspace yet; the SPF record is the general one.",
        ),
        progress,
      ),
      records,
    );
  }

  // ---- Check DNS -----------------------------------------------------------------------------

  async function checkDns(domain, button, slot) {
    const credentialId = picked.get(domain.id);
    const expected = (domain.keys ?? []).length + 2;
    busy(button, "Checking…");
    slot.hidden = false;
    replaceChildren(
      slot,
      h("div", { class: "callout callout--progress domain__checking" }, icon("loader", { className: "icon--spin" }), h("div", { class: "callout__body" }, h("p", {}, `Looking up ${expected} records in DNS…`))),
    );
    try {
      const answer = await api(`/domains/${encodeURIComponent(domain.id)}/check`, { method: "POST", body: credentialId ? { credentialId } : {}, signal });
      checks.set(domain.id, answer);
      redraw(domains.find((d) => d.id === domain.id) ?? domain, { focus: "check" });
      const results = answer.results ?? [];
      const counts = Object.entries(CHECK_STATUS)
        .map(([status, { word }]) => [word.toLowerCase(), results.filter((r) => r.status === status).length])
        .filter(([, n]) => n);
      const allMatch = results.length && results.every((r) => r.status === "match");
      toast(
        allMatch
          ? `DNS check of ${domain.domain}: all ${results.length} records match.`
          : `DNS check of ${domain.domain}: ${counts.map(([word, n]) => `${n} ${word}`).join(", ")}.`,
        { kind: allMatch ? "success" : "info" },
      );
    } catch (error) {
      busy(button);
      if (error.name === "AbortError") return;
      const alert = h("div");
      formAlert(alert, error);
      replaceChildren(slot, alert);
    }
  }

  function checkView(domain, check) {
    const headingId = uid("check-title");
    const results = check.results ?? [];
    return h(
      "section",
      { class: "domain__section dns-check", "aria-labelledby": headingId },
      h(
        "div",
        { class: "row row--between" },
        h("h3", { class: "section__title dns-check__title", id: headingId }, "DNS check"),
        h("span", { class: "muted text-sm" }, "Checked ", timeElement(check.checkedAt)),
      ),
      results.length ? resultsView(domain, results) : h("p", { class: "muted" }, "Nothing to check."),
    );
  }

  /** Every record, each with its badge; when all of them match, a calm line with the list folded. */
  function resultsView(domain, results) {
    const list = h("ul", { class: "dns-results" }, results.map((r) => resultItem(r)));
    if (!results.every((r) => r.status === "match")) return list;
    return [
      h(
        "div",
        { class: "callout callout--success" },
        icon("check-circle"),
        h(
          "div",
          { class: "callout__body" },
          h("p", { class: "callout__title" }, `All ${results.length} records match.`),
          h("p", {}, `Receivers can verify the DKIM signatures on mail from ${domain.domain}, and its SPF and DMARC records are in place.`),
        ),
      ),
      h("details", { class: "disclosure dns-check__details" }, h("summary", {}, icon("chevron-right"), h("span", {}, `Show the ${results.length} records`)), h("div", { class: "disclosure__body" }, list)),
    ];
  }

  function resultItem(result) {
    const what = result.record === "dkim" ? `DKIM · ${result.selector ?? "key"}` : RECORD_NAME[result.record] ?? result.record;
    const found = result.found ?? [];
    return h(
      "li",
      { class: `dns-result dns-result--${result.status}`, "data-record": result.record, "data-selector": result.selector ?? null, "data-status": result.status },
      h(
        "div",
        { class: "dns-result__head" },
        resultBadge(result),
        h("span", { class: "dns-result__record" }, what),
        h("code", { class: "dns-result__name" }, result.name),
      ),
      result.message ? h("p", { class: "dns-result__message" }, result.message) : null,
      // What DNS holds: in view when it is not what it should be; folded for a match (it is the
      // record shown below).
      found.length ? foundValues(result, found) : null,
      // A DKIM key's expected record is on its card below, with a copy button; SPF's and DMARC's
      // are compared here.
      result.status === "mismatch" && result.expected && result.record !== "dkim"
        ? h("div", { class: "dns-result__values" }, h("p", { class: "dns-result__label" }, "Recommended"), h("code", { class: "dns-result__value" }, result.expected))
        : null,
    );
  }

  function foundValues(result, found) {
    const label = found.length === 1 ? "Found in DNS" : `Found in DNS (${found.length} records)`;
    const values = found.map((value) => h("code", { class: "dns-result__value" }, value));
    if (result.status !== "match") return h("div", { class: "dns-result__values" }, h("p", { class: "dns-result__label" }, label), values);
    return h(
      "details",
      { class: "disclosure dns-result__found" },
      h("summary", {}, icon("chevron-right"), h("span", {}, label)),
      h("div", { class: "disclosure__body dns-result__values" }, values),
    );
  }

  function resultBadge(result, prefix = "") {
    const status = CHECK_STATUS[result.status] ?? { kind: "neutral", word: result.status };
    return badge(status.kind, `${prefix}${status.word}`, result.status === "match" ? { iconName: "check" } : {});
  }

  // ---- Adding --------------------------------------------------------------------------------

  function addDomain(opener) {
    openDomainDialog({
      opener,
      fallbackFocus: () => headerAdd,
      onAdded: (answer, key) => added(answer, key, !domains.some((d) => d.id === answer.id)),
    });
  }

  async function added(domain, key, isNew) {
    let shown = domain;
    const credentialId = picked.get(domain.id);
    if (credentialId) {
      // The answer's SPF record is the general one; keep the one tailored to the picked credential.
      try {
        shown = await api(`/domains/${encodeURIComponent(domain.id)}?credentialId=${encodeURIComponent(credentialId)}`, { signal });
      } catch {
        picked.delete(domain.id);
      }
    }
    redraw(shown, { focus: key ? `key-${key.id}` : undefined });
    tiles.get(domain.id)?.scrollIntoView?.({ block: "nearest" });
    const selector = key?.selector ?? "The key";
    if (isNew) toast(`${domain.domain} added with key ${selector}. Publish its DNS record, then check DNS.`);
    else if (key?.active) toast(`Key ${selector} added and active: it signs mail from ${domain.domain} now. Publish its DNS record.`);
    else toast(`Key ${selector} added, inactive. Publish its DNS record, check DNS, then activate it.`);
  }

  await load();
}

const PICKS_KEY = "posthorn.domainSpfCredentials";

function readPicks() {
  try {
    const value = JSON.parse(localStorage.getItem(PICKS_KEY) ?? "{}");
    return value && typeof value === "object" && !Array.isArray(value) ? value : {};
  } catch {
    return {}; // storage off, or not ours: start with the general records
  }
}

function writePicks(picked) {
  try {
    if (picked.size) localStorage.setItem(PICKS_KEY, JSON.stringify(Object.fromEntries(picked)));
    else localStorage.removeItem(PICKS_KEY);
  } catch {
    /* storage off: the choice lasts as long as the page */
  }
}

function skeleton() {
  return h(
    "div",
    { class: "tile", "aria-busy": "true", "aria-label": "Loading domains" },
    [1, 2].map(() => h("div", { class: "item" }, h("div", { class: "item__main" }, h("span", { class: "skeleton skeleton--title" }), h("span", { class: "skeleton skeleton--text" })))),
  );
}
