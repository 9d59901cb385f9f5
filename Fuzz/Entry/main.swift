import Foundation
import FuzzTargets

/// libFuzzer's entry point: runs the target named by `POSTHORN_FUZZ_TARGET` (`json`, `template`,
/// `addressList`, …; see `FuzzTarget`) on each input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    target.run(start.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
}

private let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["POSTHORN_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        fatalError("POSTHORN_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return target
}()
