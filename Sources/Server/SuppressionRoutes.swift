import Foundation
import HTTPTypes
import Hummingbird
import Workspaces

/// `/api/v1/suppressions…`: the addresses a workspace no longer sends to (hard bounces, complaints,
/// and those added by hand). Every member reads the list; adding and removing are for admins.
struct SuppressionRoutes {
    let services: PosthornServices

    func register(on group: RouterGroup<PosthornRequestContext>) {
        group.get("suppressions") { _, context in
            let workspace = try context.requireWorkspace()
            return SuppressionListResponse(items: try await services.suppressions.list(in: workspace.id).map(SuppressionResponse.init))
        }
        group.post("suppressions") { request, context in
            let workspace = try context.requireWorkspaceAdmin()
            let body = try await JSONBody.decode(SuppressionBody.self, from: request, context: context)
            let (suppression, created) = try await services.suppressions.add(body.address, reason: .manual, detail: body.note, in: workspace.id)
            return EditedResponse(status: created ? .created : .ok, response: SuppressionResponse(suppression))
        }
        group.delete("suppressions/:address") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            let raw = try context.parameters.require("address")
            try await services.suppressions.remove(raw.removingPercentEncoding ?? raw, in: workspace.id)
            return HTTPResponse.Status.noContent
        }
    }

}

/// `POST /api/v1/suppressions`: `{"address", "note"?}`.
struct SuppressionBody: Decodable {
    var address: String
    var note: String?

    private enum Key: String, CodingKey, CaseIterable { case address, note }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: Set(Key.allCases.map(\.rawValue)))
        let container = try decoder.container(keyedBy: Key.self)
        guard let address = try container.decodeNonNull(String.self, forKey: .address) else {
            throw APIError(.unprocessableContent, code: "validation_failed", field: "address", "Is required")
        }
        self.address = address
        note = try container.decodeNullable(String.self, forKey: .note) ?? nil
        if let note, note.count > 500 {
            throw APIError(.unprocessableContent, code: "validation_failed", field: "note", "Must be at most 500 characters")
        }
    }
}

struct SuppressionResponse: ResponseEncodable {
    var address: String
    var reason: String
    @ExplicitNull var detail: String?
    var createdAt: String

    init(_ suppression: Suppression) {
        address = suppression.address
        reason = suppression.reason.rawValue
        detail = suppression.detail
        createdAt = Timestamp.string(suppression.createdAt)
    }
}

/// `{"items": […]}`, newest first (at most 1,000).
struct SuppressionListResponse: ResponseEncodable {
    var items: [SuppressionResponse]
}
