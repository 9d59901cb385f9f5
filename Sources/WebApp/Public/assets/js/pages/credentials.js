// Credentials (/settings/credentials): a tile per credential kind — SMTP Server for now — with a
// + that opens "Connect your email", and the workspace's credentials of that kind under it.
// Admins test, edit and delete; members see the names only (the API gives them nothing else).
//
// `?selected=<id>` (where a finished sign-in at an email provider lands) marks that credential,
// scrolls to it and gives it the focus. An OAuth credential says which provider it is signed in
// with; one whose sign-in the provider revoked shows "Needs reconnect" and a Reconnect button.
// A sign-in that failed leaves its message in sessionStorage (pages/oauth-callback.js): it is
// shown in an alert above the list.

import { api } from "../api.js";
import { badge } from "../components/badge.js";
import { copyable } from "../components/copy.js";
import { openConnectDialog, startOAuth } from "../components/connect-dialog.js";
import { confirmDialog } from "../components/dialog.js";
import { busy, formAlert } from "../components/form.js";
import { openIntakeDialog } from "../components/intake-dialog.js";
import { testProgress, testResult } from "../components/test-result.js";
import { toast } from "../components/toast.js";
import { h, replaceChildren, timeElement } from "../dom.js";
import { icon } from "../icons.js";
import { pendingOAuthError } from "./oauth-callback.js";

export const title = "Credentials";

const SECURITY_LABEL = {
  "implicit-tls": "TLS from the start",
  starttls: "STARTTLS",
  plaintext: "No encryption",
};

export async function render({ shell, content, signal, workspace }) {
  const admin = workspace?.role === "admin";
  const headerAdd = admin ? h("button", { type: "button", class: "btn btn--primary" }, icon("plus"), "Connect your email") : null;
  shell.header({
    title: "Credentials",
    lead: "Credentials are stored at the workspace level, so once you add one, every flow in this workspace can reuse it.",
    actions: [headerAdd],
    settingsTabs: true,
  });

  const tileAdd = admin ? h("button", { type: "button", class: "btn btn--icon", "aria-label": "Add an SMTP Server credential", title: "Add an SMTP Server credential" }, icon("plus")) : null;
  const listSlot = h("div", { class: "tile__body" }, skeletonRows());
  const tile = h(
    "section",
    { class: "tile", "aria-labelledby": "tile-smtp-title" },
    h(
      "div",
      { class: "tile__header" },
      h("span", { class: "tile__icon" }, icon("mail")),
      h(
        "div",
        { class: "grow" },
        h("h2", { class: "tile__title", id: "tile-smtp-title" }, "SMTP Server"),
        h("p", { class: "tile__desc" }, "Send email from your own server: Gmail, Microsoft 365, SendGrid, Mailgun, AWS SES or any relay."),
      ),
      tileAdd,
    ),
    listSlot,
    admin ? null : h("p", { class: "tile__footer" }, "Only workspace admins can add, test, change or delete credentials."),
  );
  const oauthError = pendingOAuthError({ consume: true });
  if (oauthError) content.append(oauthErrorAlert(oauthError));
  content.append(tile);

  // The credential to show as selected (after a sign-in), focused once when it is first drawn.
  const selectedId = new URLSearchParams(location.search).get("selected");
  let focusSelected = Boolean(selectedId);

  const openNew = (opener) =>
    openConnectDialog({
      opener,
      fallbackFocus: () => tileAdd,
      onSaved: async (saved) => {
        toast(`“${saved.name}” saved. Every flow in this workspace can use it now.`);
        await load();
      },
    });
  headerAdd?.addEventListener("click", () => openNew(headerAdd));
  tileAdd?.addEventListener("click", () => openNew(tileAdd));

  async function load() {
    try {
      const { credentials } = await api("/credentials", { signal });
      const smtp = credentials.filter((c) => (c.type ?? "smtp") === "smtp");
      replaceChildren(listSlot, smtp.length ? h("ul", { class: "item-list" }, smtp.map((c) => markSelected(admin ? adminRow(c) : memberRow(c), c))) : emptyState());
      if (focusSelected) {
        focusSelected = false;
        const row = listSlot.querySelector(".item--selected");
        // After app.js has focused the page title (it does once render resolves).
        if (row) setTimeout(() => {
          if (signal.aborted || !row.isConnected) return;
          row.scrollIntoView({ block: "center" });
          row.focus({ preventScroll: true });
        }, 0);
      }
    } catch (error) {
      if (error.name === "AbortError") return;
      const slot = h("div", { class: "item" });
      formAlert(slot, error);
      slot.append(h("button", { type: "button", class: "btn btn--sm", onclick: load }, "Try again"));
      replaceChildren(listSlot, slot);
    }
  }

  function emptyState() {
    return h(
      "div",
      { class: "empty" },
      h("span", { class: "empty__icon" }, icon("mail", { className: "icon--lg" })),
      h("h3", { class: "empty__title" }, "No SMTP credentials yet"),
      admin
        ? [
            h("p", { class: "empty__text" }, "Connect your mail server to send email from your own address and domain. Every flow in this workspace can then use it."),
            h("button", { type: "button", class: "btn", onclick: (event) => openNew(event.currentTarget) }, icon("plus"), "Connect your email"),
          ]
        : h("p", { class: "empty__text" }, "Ask an admin of this workspace to connect an email server; it will then appear here for your flows."),
    );
  }

  function markSelected(row, credential) {
    if (credential.id !== selectedId) return row;
    row.classList.add("item--selected");
    row.setAttribute("aria-current", "true");
    row.setAttribute("tabindex", "-1");
    row.dataset.testid = "credential-selected";
    return row;
  }

  function memberRow(credential) {
    // Members pick credentials by name in a flow; the id is what the API and the node take.
    return h("li", { class: "item" }, h("div", { class: "item__main" }, titleRow(credential)));
  }

  function adminRow(credential) {
    const lastTest = h("span", {}, lastTestBadge(credential.lastTest));
    const detail = h("div", { class: "item__detail", hidden: true });
    const testButton = h("button", { type: "button", class: "btn btn--sm", "aria-label": `Test ${credential.name}` }, "Test");
    const editButton = h("button", { type: "button", class: "btn btn--sm", "aria-label": `Edit ${credential.name}` }, "Edit");
    const bouncesButton = h("button", { type: "button", class: "btn btn--sm", "aria-label": `Bounces and complaints of ${credential.name}`, title: "Where bounces and complaints come back" }, "Bounces");
    bouncesButton.addEventListener("click", () => openIntakeDialog({ credential, opener: bouncesButton }));
    const deleteButton = h("button", { type: "button", class: "btn btn--sm btn--ghost btn--icon btn--danger-text", "aria-label": `Delete ${credential.name}`, title: "Delete" }, icon("trash"));
    const oauth = credential.auth === "oauth2" ? credential.oauth ?? {} : null;
    const providerName = oauth ? oauth.providerName || oauth.provider || "your provider" : "";
    const reconnectButton = oauth?.needsReconnect
      ? h("button", { type: "button", class: "btn btn--sm", "data-testid": "oauth-reconnect", "aria-label": `Reconnect ${credential.name}` }, icon("refresh"), "Reconnect")
      : null;
    reconnectButton?.addEventListener("click", () => reconnect(credential, reconnectButton, detail));
    const row = h(
      "li",
      { class: "item", "data-credential": credential.id },
      h(
        "div",
        { class: "item__main" },
        titleRow(credential),
        oauth
          ? h(
              "p",
              { class: "item__meta" },
              oauth.needsReconnect ? h("span", { "data-testid": "oauth-needs-reconnect" }, badge("warning", "Needs reconnect")) : null,
              h("span", { class: "item__signed-in" }, icon("key"), `Signed in with ${providerName}`),
              credential.username ? h("span", { "data-testid": "credential-username" }, credential.username) : null,
              h("code", {}, `${credential.host}:${credential.port}`),
              lastTest,
            )
          : h(
              "p",
              { class: "item__meta" },
              h("code", {}, `${credential.host}:${credential.port}`),
              credential.security === "plaintext" ? badge("warning", "No encryption") : h("span", {}, SECURITY_LABEL[credential.security] ?? credential.security),
              credential.username ? h("span", { "data-testid": "credential-username" }, credential.username) : null,
              lastTest,
            ),
      ),
      h("div", { class: "item__actions" }, reconnectButton, testButton, bouncesButton, editButton, deleteButton),
      detail,
    );

    testButton.addEventListener("click", async () => {
      const target = `${credential.host}:${credential.port}`;
      const hadFocus = document.activeElement === testButton; // disabling drops it to the page
      testButton.disabled = true;
      replaceChildren(lastTest, badge("running", "Testing…"));
      detail.hidden = false;
      replaceChildren(detail, testProgress(target));
      try {
        const result = await api(`/credentials/${encodeURIComponent(credential.id)}/test`, { method: "POST", signal });
        const dismiss = h("button", { type: "button", class: "btn btn--sm btn--ghost" }, "Dismiss");
        dismiss.addEventListener("click", () => {
          detail.hidden = true;
          detail.replaceChildren();
          testButton.focus();
        });
        // An OAuth credential the provider no longer accepts: the way out is next to the result.
        const again = oauth && !result.ok && result.error?.code === "EAUTH" && !reconnectButton
          ? h("button", { type: "button", class: "btn btn--sm", "data-testid": "oauth-reconnect", "aria-label": `Reconnect ${credential.name}` }, icon("refresh"), "Reconnect")
          : null;
        again?.addEventListener("click", () => reconnect(credential, again, detail));
        replaceChildren(detail, testResult(result, target), h("p", { class: "row row--end" }, again, dismiss));
        replaceChildren(lastTest, lastTestBadge({ ok: result.ok, at: new Date().toISOString(), code: result.error?.code, tlsVersion: result.tlsVersion }));
      } catch (error) {
        if (error.name === "AbortError") return;
        formAlert(detail, error);
        replaceChildren(lastTest, lastTestBadge(credential.lastTest));
      } finally {
        testButton.disabled = false;
        if (hadFocus && testButton.isConnected && document.activeElement === document.body) testButton.focus();
      }
    });

    editButton.addEventListener("click", () =>
      openConnectDialog({
        credential,
        opener: editButton,
        fallbackFocus: () => tileAdd,
        onSaved: async (saved) => {
          toast(`“${saved.name}” saved.`);
          await load();
        },
      }),
    );

    deleteButton.addEventListener("click", async () => {
      const usedBy = credential.usedBy ?? [];
      const body = usedBy.length
        ? h(
            "div",
            { class: "stack-sm" },
            h("p", {}, `${usedBy.length === 1 ? "This flow uses" : `These ${usedBy.length} flows use`} it. Their Send SMTP Email steps will fail until you pick another credential:`),
            h("ul", { class: "confirm-list" }, usedBy.map((flow) => h("li", {}, h("strong", {}, flow.name)))),
          )
        : h("p", {}, "No flow uses it. The stored password is destroyed; this can't be undone.");
      const deleted = await confirmDialog({
        title: `Delete “${credential.name}”?`,
        body,
        confirmLabel: "Delete credential",
        progressLabel: "Deleting…",
        opener: deleteButton,
        fallbackFocus: () => tileAdd,
        action: () => api(`/credentials/${encodeURIComponent(credential.id)}`, { method: "DELETE" }),
      });
      if (deleted) {
        toast(`“${credential.name}” deleted.`);
        await load();
      }
    });
    return row;
  }

  /** Signs in at the provider again: POST …/oauth/start with the credential, then off to the provider. */
  async function reconnect(credential, button, detail) {
    busy(button, "Opening…");
    try {
      await startOAuth({ credentialId: credential.id });
    } catch (error) {
      busy(button);
      detail.hidden = false;
      formAlert(detail, error);
    }
  }

  await load();
}

/** A sign-in at an email provider that did not finish: what the server (or the callback) said. */
function oauthErrorAlert(problem) {
  const dismiss = h("button", { type: "button", class: "btn btn--ghost btn--icon btn--sm", "aria-label": "Dismiss" }, icon("x"));
  const body = h("div", { class: "callout__body" }, h("p", { class: "callout__title" }, "The email account was not connected"), h("p", { "data-oauth-message": "" }, problem.message));
  if (problem.requestId) body.append(h("p", { class: "row" }, h("span", { class: "muted" }, "Request id"), copyable(problem.requestId, { label: "request id" })));
  const alert = h("div", { class: "callout callout--danger page-alert", role: "alert", "data-testid": "oauth-error" }, icon("x-circle"), body, dismiss);
  dismiss.addEventListener("click", () => {
    alert.remove();
    document.querySelector("main h1")?.focus(); // not lost to the page
  });
  return alert;
}

function titleRow(credential) {
  return h("div", { class: "item__title-row" }, h("p", { class: "item__title" }, credential.name), copyable(credential.id, { label: "credential id" }));
}

function lastTestBadge(lastTest) {
  if (!lastTest) return badge("neutral", "Not tested");
  const when = timeElement(lastTest.at);
  if (lastTest.ok) return badge("succeeded", h("span", {}, `Test passed${lastTest.tlsVersion ? ` · ${lastTest.tlsVersion}` : ""} · `, when));
  return badge("failed", h("span", {}, `Test failed${lastTest.code ? ` · ${lastTest.code}` : ""} · `, when));
}

function skeletonRows() {
  return h(
    "div",
    { "aria-busy": "true", "aria-label": "Loading credentials" },
    [1, 2].map(() => h("div", { class: "item" }, h("div", { class: "item__main" }, h("span", { class: "skeleton skeleton--title" }), h("span", { class: "skeleton skeleton--text" })))),
  );
}
