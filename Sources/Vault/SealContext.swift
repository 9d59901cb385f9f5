/// What a sealed secret belongs to, bound into the ciphertext as AES-GCM associated data.
///
/// A sealed value only opens under the context it was sealed with, so a database writer who
/// copies one workspace's sealed password into another workspace's row (or into another
/// credential, or another field of the same credential) gets ``VaultError/openFailed`` rather than
/// a working credential.
public struct SealContext: Sendable, Hashable {
    /// The owning workspace.
    public var workspaceID: String
    /// The credential inside the workspace.
    public var credentialID: String
    /// Which secret of the credential (`"password"`, an OAuth token, …).
    public var field: String

    /// A context for `field` of `credentialID` in `workspaceID`.
    public init(workspaceID: String, credentialID: String, field: String = "password") {
        self.workspaceID = workspaceID
        self.credentialID = credentialID
        self.field = field
    }
}
