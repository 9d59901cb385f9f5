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
    struct Body {
        private var pendingSpace = false
        private var pendingCR = false
        private var lineHasContent = false
        private var emptyLines = 0

        /// Canonicalizes `bytes`, handing the output to `emit` in order. Runs of ordinary bytes
        /// (the bulk of a base64 or quoted-printable body) are copied whole.
        mutating func feed(_ bytes: some Sequence<UInt8>, _ emit: (ArraySlice<UInt8>) -> Void) {
            let input = bytes.withContiguousStorageIfAvailable { Array($0) } ?? Array(bytes)
            var output: [UInt8] = []
            output.reserveCapacity(input.count + 64)
            var index = 0
            let count = input.count
            while index < count {
                let byte = input[index]
                if pendingCR {
                    pendingCR = false
                    if byte == 0x0A {
                        endLine(&output)
                        index += 1
                        continue
                    }
                    startContent(&output)
                    output.append(0x0D)  // a bare CR is ordinary text
                }
                switch byte {
                case 0x0D:
                    pendingCR = true
                    index += 1
                case 0x20, 0x09:
                    pendingSpace = true
                    index += 1
                default:
                    var end = index + 1
                    while end < count {
                        let next = input[end]
                        if next == 0x0D || next == 0x0A || next == 0x20 || next == 0x09 { break }
                        end += 1
                    }
                    startContent(&output)
                    output.append(contentsOf: input[index..<end])
                    index = end
                }
            }
            if !output.isEmpty { emit(output[...]) }
        }

        /// Ends the body: a last line without CRLF gets one; empty lines at the end are dropped.
        mutating func finish(_ emit: (ArraySlice<UInt8>) -> Void) {
            var output: [UInt8] = []
            if pendingCR {
                pendingCR = false
                startContent(&output)
                output.append(0x0D)
            }
            if lineHasContent { output += [0x0D, 0x0A] }
            lineHasContent = false
            if !output.isEmpty { emit(output[...]) }
        }

        /// Before content: the empty lines it follows, and one space for the whitespace before it.
        private mutating func startContent(_ output: inout [UInt8]) {
            if emptyLines > 0 {
                for _ in 0..<emptyLines { output += [0x0D, 0x0A] }
                emptyLines = 0
            }
            if pendingSpace { output.append(0x20) }
            pendingSpace = false
            lineHasContent = true
        }

        private mutating func endLine(_ output: inout [UInt8]) {
            pendingSpace = false  // whitespace at the end of a line is dropped
            if lineHasContent {
                output += [0x0D, 0x0A]
            } else {
                emptyLines += 1  // written only if something follows
            }
            lineHasContent = false
        }
    }
}
