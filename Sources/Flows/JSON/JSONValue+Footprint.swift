// MARK: - Size and depth
//
// What a value costs, measured without encoding it: the bounds of ``RunLimits`` are checked on
// every value a run makes, so the measure must be cheap (one walk, no allocation) and must not
// itself recurse without bound (values come from our parser or from nodes, both depth-limited, and
// the walk stops counting depth past the limit it is asked about).

extension JSONValue {
    /// The approximate size of the value as compact JSON text, in bytes, and its nesting depth
    /// (a scalar is 0, `[]` and `{}` are 1).
    ///
    /// Strings count their UTF-8 bytes plus quotes (escapes are not counted), numbers 8, keys like
    /// strings plus a colon and a comma. ``bytes(_:)`` counts its raw size: in memory that is what it
    /// costs (its stored summary is small; see ``JSONValue/historyFootprint``).
    public var footprint: (bytes: Int, depth: Int) {
        var bytes = 0
        let depth = measure(into: &bytes, binaryAsSummary: false)
        return (bytes, depth)
    }

    /// The footprint as the run history would store the value: binary data as its short summary.
    var historyFootprint: (bytes: Int, depth: Int) {
        var bytes = 0
        let depth = measure(into: &bytes, binaryAsSummary: true)
        return (bytes, depth)
    }

    private func measure(into bytes: inout Int, binaryAsSummary: Bool) -> Int {
        switch self {
        case .null, .bool:
            bytes &+= 5
            return 0
        case .integer, .number:
            bytes &+= 8
            return 0
        case .string(let text):
            bytes &+= text.utf8.count &+ 2
            return 0
        case .bytes(let data):
            bytes &+= binaryAsSummary ? 100 : data.count
            return 0
        case .array(let elements):
            bytes &+= 2
            var deepest = 0
            for element in elements {
                bytes &+= 1
                deepest = Swift.max(deepest, element.measure(into: &bytes, binaryAsSummary: binaryAsSummary))
            }
            return deepest &+ 1
        case .object(let members):
            bytes &+= 2
            var deepest = 0
            for (key, value) in members {
                bytes &+= key.utf8.count &+ 4
                deepest = Swift.max(deepest, value.measure(into: &bytes, binaryAsSummary: binaryAsSummary))
            }
            return deepest &+ 1
        }
    }

    /// The key of the single member of an omitted-value summary.
    static let omittedSummaryKey = "$omitted"

    /// The value as the run history keeps it: itself when its stored form is at most `limit` bytes
    /// and ``RunLimits/maximumDepth`` deep, else `{"$omitted": {"size": N, "reason": "…"}}`.
    func boundedForHistory(limit: Int = RunLimits.maximumHistoryValueBytes) -> JSONValue {
        let (size, depth) = historyFootprint
        if size <= limit && depth <= RunLimits.maximumDepth { return self }
        let reason = size > limit
            ? "larger than the \(limit / 1_000_000) MB the run history keeps of one value"
            : "nested deeper than \(RunLimits.maximumDepth) levels"
        return .object([Self.omittedSummaryKey: .object(["size": .integer(Int64(size)), "reason": .string(reason)])])
    }

    /// Whether the value is an omitted-value summary (see ``boundedForHistory(limit:)``): after a
    /// round trip through storage the value it stood for is gone.
    var isOmittedSummary: Bool {
        guard case .object(let members) = self, members.count == 1, case .object? = members[Self.omittedSummaryKey] else {
            return false
        }
        return true
    }
}
