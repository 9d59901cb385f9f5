public import Foundation
public import MIME
import Synchronization

extension MessageIdentity {
    /// A fixed clock and tokens `t1`, `t2`, … in the order the composer asks for them, so a
    /// composed message is the same bytes on every run (golden fixtures depend on it).
    public static func deterministic(
        now: Date = Date(timeIntervalSince1970: 1_795_600_800)
    ) -> MessageIdentity {
        let counter = Mutex(0)
        return MessageIdentity(
            now: { now },
            token: {
                let next = counter.withLock { value in
                    value += 1
                    return value
                }
                return "t\(next)"
            }
        )
    }
}
