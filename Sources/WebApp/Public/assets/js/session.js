// Who is signed in and which workspace the app works in.
// The choice of workspace is kept in localStorage and sent by api.js as X-Workspace-Id.

import { api, storedWorkspaceId, storeWorkspaceId } from "./api.js";

let session = null;

export function currentSession() {
  return session;
}

/** Loads the session (null when signed out). */
export async function loadSession({ signal } = {}) {
  try {
    setSession(await api("/session", { signal, expect401: true }));
  } catch (error) {
    if (error.status !== 401) throw error;
    session = null;
  }
  return session;
}

/** Keeps a Session answer and makes sure the stored workspace is one of its workspaces. */
export function setSession(value) {
  session = value;
  const workspaces = session?.workspaces ?? [];
  if (!workspaces.some((w) => w.id === storedWorkspaceId())) storeWorkspaceId(workspaces[0]?.id ?? null);
}

export function clearSession() {
  session = null;
}

/** The workspace the app works in: the stored choice, else the first. */
export function currentWorkspace() {
  const workspaces = session?.workspaces ?? [];
  return workspaces.find((w) => w.id === storedWorkspaceId()) ?? workspaces[0] ?? null;
}

export function switchWorkspace(id) {
  storeWorkspaceId(id);
}

export function isAdmin() {
  return currentWorkspace()?.role === "admin";
}
