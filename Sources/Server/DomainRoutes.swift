import DKIM
import Foundation
import HTTPTypes
import Hummingbird
import Secrets
public import Workspaces

/// `/api/v1/domains…`: a workspace's sending domains and their DKIM keys. Every member reads them
/// (and may check DNS); adding, activating and removing keys is for admins. Another workspace's
/// domain id is 404. A private key never leaves the vault: answers carry the public half and the
/// DNS record to publish.
struct DomainRoutes {
    let services: PosthornServices

    func register(on group: RouterGroup<PosthornRequestContext>) {
        group.get("domains") { request, context in
            let workspace = try context.requireWorkspace()
            let credential = try await pickedCredential(request, workspaceID: workspace.id)
            let domains = try await services.domains.list(in: workspace.id)
            return DomainListResponse(domains: domains.map { DomainResponse($0, credential: credential) })
        }
        group.post("domains") { request, context in
            let workspace = try context.requireWorkspaceAdmin()
            let body = try await JSONBody.decode(DomainKeyBody.self, from: request, context: context)
            let domain = try await services.domains.addKey(body.input, in: workspace.id)
            return EditedResponse(
                status: .created, headers: [.location: "/api/v1/domains/\(domain.id)"], response: DomainResponse(domain, credential: nil))
        }
        group.get("domains/:id") { request, context in
            let workspace = try context.requireWorkspace()
            let id = try context.parameters.require("id")
            let credential = try await pickedCredential(request, workspaceID: workspace.id)
            return DomainResponse(try await domain(id, workspaceID: workspace.id), credential: credential)
        }
        group.delete("domains/:id") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            let id = try context.parameters.require("id")
            let domain = try await domain(id, workspaceID: workspace.id)
            try await services.domains.delete(domain.id, in: workspace.id)
            return HTTPResponse.Status.noContent
        }
        group.post("domains/:id/check") { request, context in
            let workspace = try context.requireWorkspace()
            let id = try context.parameters.require("id")
            let body = try await JSONBody.decode(DomainCheckBody.self, from: request, context: context)
            var credential: SMTPCredential?
            if let credentialID = body.credentialId {
                do {
                    credential = try await services.credentials.credentialByID(credentialID, in: workspace.id)
                } catch let error as WorkspaceError where error.kind == .notFound {
                    throw APIError(.notFound, code: "not_found", field: "credentialId", "Credential not found")
                }
            }
            let domain = try await domain(id, workspaceID: workspace.id)
            let result = try await services.domains.check(domain.id, in: workspace.id, credential: credential, resolver: services.dnsResolver)
            return DomainCheckResponse(
                domain: result.domain.name, checkedAt: Timestamp.string(Date()), results: result.checks.map(DomainCheckResponse.Result.init))
        }
        group.post("domains/:id/keys/:keyId/activate") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            let id = try context.parameters.require("id")
            let keyID = try context.parameters.require("keyId")
            let domain = try await domain(id, workspaceID: workspace.id)
            return DomainResponse(
                try await services.domains.activate(keyID: keyID, domainID: domain.id, in: workspace.id), credential: nil)
        }
        group.delete("domains/:id/keys/:keyId") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            let id = try context.parameters.require("id")
            let keyID = try context.parameters.require("keyId")
            let domain = try await domain(id, workspaceID: workspace.id)
            return DomainResponse(
                try await services.domains.removeKey(keyID: keyID, domainID: domain.id, in: workspace.id), credential: nil)
        }
    }

    /// The domain by id only: a name in the path would make two addresses for one resource.
    private func domain(_ id: String, workspaceID: String) async throws -> SendingDomain {
        try await services.domains.domainByID(id, in: workspaceID)
    }

    /// `?credentialId=`: the credential the SPF recommendation is written for (404 when unknown).
    private func pickedCredential(_ request: Request, workspaceID: String) async throws -> SMTPCredential? {
        guard let id = request.uri.queryParameters.get("credentialId"), !id.isEmpty else { return nil }
        do {
            return try await services.credentials.credentialByID(id, in: workspaceID)
        } catch let error as WorkspaceError where error.kind == .notFound {
            throw APIError(.notFound, code: "not_found", field: "credentialId", "Credential not found")
        }
    }

}

/// `POST /api/v1/domains`: `{"domain", "selector", "algorithm"?, "privateKey"?}`.
struct DomainKeyBody: Decodable {
    var input: DomainKeyInput

    private enum Key: String, CodingKey, CaseIterable {
        case domain, selector, algorithm, privateKey
    }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: Set(Key.allCases.map(\.rawValue)))
        let container = try decoder.container(keyedBy: Key.self)
        input = DomainKeyInput(
            domain: try container.decodeNonNull(String.self, forKey: .domain),
            selector: try container.decodeNonNull(String.self, forKey: .selector),
            algorithm: try container.decodeNonNull(String.self, forKey: .algorithm),
            privateKey: try container.decodeNonNull(String.self, forKey: .privateKey).map(Secret.init))
    }
}

/// `POST /api/v1/domains/{id}/check`: `{"credentialId"?}`.
struct DomainCheckBody: Decodable {
    var credentialId: String?

    private enum Key: String, CodingKey, CaseIterable { case credentialId }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: Set(Key.allCases.map(\.rawValue)))
        credentialId = try decoder.container(keyedBy: Key.self).decodeNonNull(String.self, forKey: .credentialId)
    }
}

/// What *Check DNS* found, record by record.
struct DomainCheckResponse: ResponseEncodable {
    struct Result: Encodable {
        var record: String
        @ExplicitNull var keyId: String?
        @ExplicitNull var selector: String?
        var name: String
        var status: String
        @ExplicitNull var expected: String?
        var found: [String]
        var message: String

        init(_ check: DomainService.DNSCheck) {
            record = check.record
            keyId = check.keyID
            selector = check.selector
            name = check.name
            status = check.status.rawValue
            expected = check.expected
            found = check.found
            message = check.message
        }
    }

    var domain: String
    var checkedAt: String
    var results: [Result]
}

struct DomainListResponse: ResponseEncodable {
    var domains: [DomainResponse]
}

/// A domain as the API shows it: its keys with their DNS records, and the SPF and DMARC records
/// Posthorn recommends.
struct DomainResponse: ResponseEncodable {
    struct Record: Encodable {
        var name: String
        var type: String
        var value: String
        var strings: [String]

        init(_ record: DNSTXTRecord) {
            name = record.name
            type = record.type
            value = record.value
            strings = record.strings
        }
    }

    struct Key: Encodable {
        var id: String
        var selector: String
        var algorithm: String
        var active: Bool
        var createdAt: String
        @ExplicitNull var activatedAt: String?
        var dnsRecord: Record
    }

    struct Recommendation: Encodable {
        var name: String
        var type: String
        var value: String
        @ExplicitNull var credentialId: String?
        var note: String

        init(_ recommendation: DomainService.Recommendation) {
            name = recommendation.record.name
            type = recommendation.record.type
            value = recommendation.record.value
            credentialId = recommendation.credentialID
            note = recommendation.note
        }
    }

    struct Recommended: Encodable {
        var spf: Recommendation
        var dmarc: Recommendation
    }

    var id: String
    var domain: String
    var createdAt: String
    var keys: [Key]
    var recommended: Recommended

    init(_ domain: SendingDomain, credential: SMTPCredential?) {
        id = domain.id
        self.domain = domain.name
        createdAt = Timestamp.string(domain.createdAt)
        keys = domain.keys.map { key in
            Key(
                id: key.id, selector: key.selector, algorithm: key.algorithm.rawValue, active: key.active,
                createdAt: Timestamp.string(key.createdAt), activatedAt: key.activatedAt.map(Timestamp.string),
                dnsRecord: Record(key.dnsRecord(domain: domain.name)))
        }
        let recommendations = DomainService.recommendations(for: domain, credential: credential)
        recommended = Recommended(spf: Recommendation(recommendations.spf), dmarc: Recommendation(recommendations.dmarc))
    }
}

extension JSONRendering {
    /// A domain as `GET /api/v1/domains/{id}` shows it (never a private key).
    public static func domain(_ domain: SendingDomain, credential: SMTPCredential? = nil) -> String {
        prettyJSON(DomainResponse(domain, credential: credential))
    }

    /// `{"domains": […]}`.
    public static func domains(_ domains: [SendingDomain]) -> String {
        prettyJSON(DomainListResponse(domains: domains.map { DomainResponse($0, credential: nil) }))
    }
}
