/// DKIM's "relaxed" canonicalization (RFC 6376 §3.4.2 and §3.4.4): what a signature covers, so
/// that whitespace changes made by relays in transit do not break it.
enum RelaxedCanonicalization {
    /// One header field as signed: the name in lower case, `:`, the value unfolded, every run of
    /// spaces and tabs one space, none at either end, then CRLF (left out for the signature's own
    /// field, which ends the signed data).
    static func header(name: String, value: String, terminated: Bool = true) -> [UInt8] {
        var output = Array(name.lowercased().utf8).filter { $0 != 0x20 && $0 != 0x09 }
        output.append(UInt8(ascii: ":"))
        var pendingSpace = false
        var started = false
        for byte in value.utf8 {
            switch byte {
            case 0x0D, 0x0A:
                continue  // unfolding: the CRLF goes, the whitespace after it stays (and is reduced)
            case 0x20, 0x09:
                pendingSpace = started
            default:
                if pendingSpace { output.append(0x20) }
                pendingSpace = false
                started = true
                output.append(byte)
            }
        }
        if terminated { output += [0x0D, 0x0A] }
        return output
    }

    /// A message body's relaxed form, fed in pieces of any size, so a body of any length is
    /// canonicalized (and hashed) without being held: trailing whitespace of each line removed,
    /// runs of whitespace one space, empty lines at the end removed, and a non-empty body ending
    /// in exactly one CRLF.
    ///
    /// What passes unchanged (all of a base64 part, most of any text) is handed on as slices of
    /// the input, never copied; only what changes is written from constants.
    struct Body {
        private var pendingSpace = false
        /// Whether the pending whitespace is one SP so far (kept as it is if content follows).
        private var singleSpace = false
        private var pendingCR = false
        private var lineHasContent = false
        private var emptyLines = 0

        private static let crlf: [UInt8] = [0x0D, 0x0A]
        private static let space: [UInt8] = [0x20]
        private static let cr: [UInt8] = [0x0D]

        /// Canonicalizes `input`, handing the output to `emit` in order.
        mutating func feed(_ input: ArraySlice<UInt8>, _ emit: (ArraySlice<UInt8>) -> Void) {
            // Output so far, not yet handed on: `input[run..<index]`, verbatim, but for the
            // pending whitespace (from `spaceAt`) and CR (at `crAt`), whose fate is not known
            // yet. Either may have come in an earlier piece: then it is at `startIndex`.
            var run = input.startIndex
            var index = input.startIndex
            let end = input.endIndex
            var spaceAt = input.startIndex
            var crAt = input.startIndex

            /// Hands on `input[run..<upTo]` and restarts the run at `from`.
            func flush(_ upTo: Int, restart from: Int) {
                if run < upTo { emit(input[run..<upTo]) }
                run = from
            }
            /// Content starts at `at`: writes what it owes first (empty lines kept because content
            /// follows, one space for whitespace); content right after the run or after one SP in
            /// the run continues it.
            func content(at: Int) {
                let owesSpace = pendingSpace && !(singleSpace && spaceAt > run - 1 && spaceAt == at - 1 && emptyLines == 0)
                if emptyLines > 0 || owesSpace {
                    flush(pendingSpace ? spaceAt : at, restart: at)
                    for _ in 0..<emptyLines { emit(Self.crlf[...]) }
                    emptyLines = 0
                    if pendingSpace { emit(Self.space[...]) }
                }
                pendingSpace = false
                lineHasContent = true
            }

            while index < end {
                let byte = input[index]
                if pendingCR {
                    pendingCR = false
                    if byte == 0x0A {
                        // The line ends. Whitespace before the CR is dropped.
                        if lineHasContent {
                            let crInRun = crAt == index - 1 && crAt >= run
                            if pendingSpace {
                                flush(spaceAt, restart: crInRun ? crAt : index + 1)
                                if !crInRun { emit(Self.crlf[...]) }
                            } else if !crInRun {
                                flush(crAt, restart: index + 1)
                                emit(Self.crlf[...])
                            }
                        } else {
                            // An empty line: written only if content follows.
                            flush(pendingSpace ? spaceAt : crAt, restart: index + 1)
                            emptyLines += 1
                        }
                        pendingSpace = false
                        lineHasContent = false
                        index += 1
                        continue
                    }
                    // A bare CR is ordinary text.
                    if crAt == index - 1 && crAt >= run {
                        content(at: crAt)
                    } else {
                        content(at: index)
                        emit(Self.cr[...])
                    }
                }
                switch byte {
                case 0x0D:
                    pendingCR = true
                    crAt = index
                    index += 1
                case 0x20, 0x09:
                    if pendingSpace {
                        singleSpace = false
                    } else {
                        pendingSpace = true
                        singleSpace = byte == 0x20
                        spaceAt = index
                    }
                    index += 1
                default:
                    content(at: index)
                    index += 1
                    while index < end {
                        let next = input[index]
                        if next == 0x0D || next == 0x20 || next == 0x09 { break }
                        index += 1
                    }
                }
            }
            // What is still pending stays out of the run.
            flush(pendingSpace ? spaceAt : pendingCR ? crAt : index, restart: index)
            if pendingSpace { singleSpace = false }
        }

        /// Ends the body: a last line without CRLF gets one; empty lines at the end are dropped.
        mutating func finish(_ emit: (ArraySlice<UInt8>) -> Void) {
            if pendingCR {
                pendingCR = false
                if emptyLines > 0 || pendingSpace {
                    for _ in 0..<emptyLines { emit(Self.crlf[...]) }
                    if pendingSpace { emit(Self.space[...]) }
                }
                emptyLines = 0
                pendingSpace = false
                emit(Self.cr[...])
                lineHasContent = true
            }
            if lineHasContent { emit(Self.crlf[...]) }
            lineHasContent = false
        }
    }

}
