import DKIM
import Flows
import Foundation
import MIME
import Workspaces

/// Which domain's keys sign a step's message.
struct SigningRequest {
    /// The `dkimDomain` parameter; empty: the From address's domain.
    var domain: String
    var workspaceID: String
}

extension SendSMTPEmailNode {
    /// `message` signed by every active key of the sending domain — the `dkimDomain` parameter's,
    /// else the From address's — with the signatures made. Unsigned when the From domain has no
    /// key; a `dkimDomain` without an active key fails (`EMESSAGE`), since the flow asked for it.
    func signed(
        _ message: RenderedMessage, from validated: ValidatedEmail, _ request: SigningRequest
    ) async throws(NodeError) -> (RenderedMessage, [DKIMSigner.Identity]) {
        guard let domains else {
            guard request.domain.isEmpty else { throw Self.noKey(request.domain) }
            return (message, [])
        }
        let domain = request.domain.isEmpty ? validated.from.domain.lowercased() : request.domain
        let identities: [DKIMSigner.Identity]
        do {
            identities = try await domains.signingIdentities(for: domain, in: request.workspaceID)
        } catch let error as WorkspaceError {
            // A key the vault cannot open stays unopenable: the operator must act.
            throw NodeError(code: "EDKIM", message: "dkim: \(error.message)", disposition: .permanent)
        } catch {
            throw NodeError(code: "EDKIM", message: "dkim: the domain's keys could not be loaded", disposition: .transient)
        }
        guard !identities.isEmpty else {
            guard request.domain.isEmpty else { throw Self.noKey(request.domain) }
            return (message, [])
        }
        do {
            return (try DKIMSigner(identities).sign(message, at: Date()), identities)
        } catch {
            throw NodeError(code: "EMESSAGE", message: "The message could not be signed: \(error)", disposition: .permanent)
        }
    }

    private static func noKey(_ domain: String) -> NodeError {
        NodeError(
            code: "EMESSAGE", message: "dkimDomain: \(domain) has no active DKIM key in this workspace (add one on the Domains page)",
            disposition: .permanent,
            details: .object(["field": .string("dkimDomain"), "rule": .string("dkim_domain_without_key")]))
    }
}
