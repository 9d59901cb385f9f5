import AsyncHTTPClient
import Flows
import MIME
import NIOCore
import NIOHTTP1

extension GuardedHTTPFetcher {
    /// Sends the request on `client` and reads a 2xx response within the limit.
    ///
    /// A refused status is decided from the head alone: the body of a 3xx, 4xx or 5xx is never read,
    /// and shutting the client down afterwards closes the connection under it.
    func exchange(
        _ request: FetchRequest, target: FetchTarget, field: String, on client: HTTPClient
    ) async throws(NodeError) -> FetchedResource {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for header in request.headers {
            outgoing.headers.add(name: header.name, value: header.value)
        }
        if let body = request.body {
            outgoing.body = .bytes(ByteBuffer(bytes: body))
        }

        let response: HTTPClientResponse
        do {
            // The deadline bounds connecting and the head; FetchDeadline bounds the body too.
            response = try await client.execute(outgoing, timeout: TimeAmount(request.timeout))
        } catch {
            throw FetchFailure.transport(error, field: field, target: target, request: request)
        }

        let status = Int(response.status.code)
        if !request.acceptedErrorStatuses.contains(status), let refusal = ResponseStatusPolicy.refusal(
            status: status, method: request.method, field: field, authority: target.authority) {
            throw refusal
        }

        let headers = FetchedResource.lowercasedHeaders(response.headers.map { ($0.name, $0.value) })
        // A HEAD response's Content-Length describes the body a GET would get, not this one.
        let expectsBody = request.method != "HEAD"
        if expectsBody, let declared = headers["content-length"].flatMap(Int.init), declared > request.byteLimit {
            throw FetchFailure.tooLarge(field: field, limit: request.byteLimit, declared: declared)
        }

        var body: [UInt8] = []
        if let declared = headers["content-length"].flatMap(Int.init), expectsBody {
            body.reserveCapacity(declared)
        }
        do {
            for try await chunk in response.body {
                guard chunk.readableBytes <= request.byteLimit - body.count else {
                    // Leaving the loop drops the body stream, which cancels the request.
                    throw FetchFailure.tooLarge(field: field, limit: request.byteLimit, declared: nil)
                }
                body.append(contentsOf: chunk.readableBytesView)
            }
        } catch let error as NodeError {
            throw error
        } catch {
            throw FetchFailure.transport(error, field: field, target: target, request: request)
        }

        return FetchedResource(
            status: status, headers: headers, body: body,
            contentType: headers["content-type"].flatMap(FetchedResource.mediaType),
            filename: headers["content-disposition"].flatMap(ContentDisposition.filename(fromHeader:))
                ?? target.lastPathSegment)
    }
}

// MARK: - Response metadata

extension FetchedResource {
    /// Header names lower-cased; a repeated header's values joined with `, ` in arrival order.
    static func lowercasedHeaders(_ fields: [(name: String, value: String)]) -> [String: String] {
        var headers: [String: String] = [:]
        for field in fields {
            let name = field.name.lowercased()
            if let existing = headers[name] {
                headers[name] = existing + ", " + field.value
            } else {
                headers[name] = field.value
            }
        }
        return headers
    }

    /// `type/subtype` from a `Content-Type` value, lower-cased, parameters dropped; `nil` unless both
    /// halves are RFC 9110 tokens, so nothing odd reaches a MIME header later.
    static func mediaType(_ value: String) -> String? {
        let essence = value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let trimmed = essence.trimmingBlanks().lowercased()
        let halves = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2, halves.allSatisfy({ FetchRequest.isToken(String($0)) }) else { return nil }
        return trimmed
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingBlanks() -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
