import Secrets
public import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// The HTML bodies of recent email previews, each behind an unguessable, short-lived address that
/// the studio's sandboxed frame loads (`GET /preview-frames/{token}`).
///
/// A frame's `srcdoc` document would live under the app's own policy, which allows no inline
/// style: most emails would show unstyled. Served from here instead, the document has its own,
/// stricter policy (`default-src 'none'`, inline CSS only, images only from `data:`, a sandbox
/// without scripts), so it looks as a mail client draws it, and nothing in it can run or reach
/// anything. The token (256 random bits) is the capability; bodies expire after ten minutes and
/// at most 64 MB are kept in all (the oldest go first).
public final class PreviewFrames: Sendable {
    /// How long a preview's address works.
    public static let lifetime: TimeInterval = 600
    /// The most bytes kept in all.
    public static let capacity = 64 * 1024 * 1024

    private struct Entry {
        var html: String
        var expires: Date
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var order: [String] = []
        var bytes = 0
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    /// Keeps `html` and returns its address (`/preview-frames/<token>`).
    func store(_ html: String) -> String {
        let token = (0..<32).map { _ in UInt8.random(in: 0...255) }.hexString
        let size = html.utf8.count
        let now = now()
        state.withLock { state in
            state.order.removeAll { token in
                guard let entry = state.entries[token], entry.expires > now else {
                    state.bytes -= state.entries.removeValue(forKey: token)?.html.utf8.count ?? 0
                    return true
                }
                return false
            }
            while state.bytes + size > Self.capacity, !state.order.isEmpty {
                let oldest = state.order.removeFirst()
                state.bytes -= state.entries.removeValue(forKey: oldest)?.html.utf8.count ?? 0
            }
            state.entries[token] = Entry(html: html, expires: now.addingTimeInterval(Self.lifetime))
            state.order.append(token)
            state.bytes += size
        }
        return "/preview-frames/\(token)"
    }

    /// The HTML behind `token`, while it lasts.
    func html(_ token: String) -> String? {
        let now = now()
        return state.withLock { state in
            guard let entry = state.entries[token], entry.expires > now else { return nil }
            return entry.html
        }
    }

    /// The frame document's own policy: nothing loads, inline CSS applies, images only from
    /// `data:`, no script, framed only by Posthorn's pages.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; "
        + "form-action 'none'; frame-ancestors 'self'; sandbox"

    /// `GET /preview-frames/{token}`.
    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("preview-frames/:token") { request, context in
            var headers: HTTPFields = [
                .contentSecurityPolicy: Self.contentSecurityPolicy,
                .xContentTypeOptions: "nosniff",
                HTTPField.Name("Referrer-Policy")!: "no-referrer",
                .cacheControl: "no-store",
            ]
            guard let token = context.parameters.get("token"), let html = self.html(token) else {
                headers[.contentType] = "text/plain; charset=utf-8"
                return Response(status: .notFound, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "This preview has expired; preview again\n")))
            }
            headers[.contentType] = "text/html; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
        }
    }
}
