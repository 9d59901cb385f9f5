import Flows
import Foundation
public import Secrets
public import Workspaces

/// The API's JSON shapes, for the CLI to print the same objects the API returns.
public enum JSONRendering {
    /// A credential as `GET /api/v1/credentials/{id}` shows it (never the password).
    public static func credential(_ credential: SMTPCredential) -> String {
        encode(CredentialResponse(credential))
    }

    /// `{"credentials": […]}`.
    public static func credentials(_ credentials: [SMTPCredential]) -> String {
        encode(CredentialListResponse(credentials: credentials.map { CredentialResponse($0) }))
    }

    /// `{"workspace": {…}, "token": "…"}`: the one place a token is shown.
    public static func createdWorkspace(_ workspace: Workspace, token: Secret) -> String {
        encode(CreatedWorkspaceResponse(workspace: WorkspaceResponse(workspace), token: token.revealedValue))
    }

    /// What `posthorn bounce ingest` did: the step it matched and each recipient's fate.
    public static func bounceOutcome(_ outcome: BounceIngest.Outcome) -> String {
        encode(BounceOutcomeResponse(outcome))
    }

    /// A suppressed address as the API shows it.
    public static func suppression(_ suppression: Suppression) -> String {
        encode(SuppressionResponse(suppression))
    }

    /// `{"items": […]}`: a workspace's suppression list.
    public static func suppressions(_ suppressions: [Suppression]) -> String {
        encode(SuppressionListResponse(items: suppressions.map(SuppressionResponse.init)))
    }

    /// A workspace as `GET /api/v1/workspace` shows it.
    public static func workspace(_ workspace: Workspace) -> String {
        encode(WorkspaceResponse(workspace))
    }

    /// An API token; with its value only when `value` is given (the one time it is shown).
    public static func token(_ token: APIToken, value: Secret? = nil) -> String {
        var response = TokenResponse(token)
        response.token = value?.revealedValue
        return encode(response)
    }

    /// A workspace's API tokens.
    public static func tokens(_ tokens: [APIToken]) -> String {
        encode(tokens.map(TokenResponse.init))
    }

    /// A connection test result.
    public static func testResult(_ result: ConnectionTestResult) -> String {
        encode(result)
    }

    /// An account as `GET /api/v1/session` shows it: the user and their workspaces with roles.
    public static func user(_ user: User, memberships: [Membership]) -> String {
        encode(SessionResponse(user: user, memberships: memberships))
    }

    private static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        return String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
