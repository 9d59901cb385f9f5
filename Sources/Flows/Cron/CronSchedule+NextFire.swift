public import Foundation

// MARK: - Next fire

extension CronSchedule {
    /// How far ahead ``nextFire(after:)`` looks before answering `nil`: the Gregorian calendar
    /// repeats every 400 years, so a schedule with no match in that span has none at all.
    static let searchYears: Int64 = 400

    /// The first instant strictly after `date` at which the schedule fires, or `nil` if there is
    /// none (a date beyond year 9999, or not finite).
    ///
    /// Works in local wall-clock minutes and skips by fields: a month, day or hour that cannot
    /// match is passed over whole, so `0 0 29 2 *` finds the next leap day in a handful of steps.
    /// Each candidate wall time is mapped to an instant by the daylight-saving rules in the type's
    /// documentation. Because a spring-forward gap maps some wall times *after* later ones, the
    /// search keeps the earliest instant found and stops once no later wall time can beat it.
    public func nextFire(after date: Date) -> Date? {
        let after = date.timeIntervalSince1970
        guard after.isFinite, after > -62_135_596_800, after < 253_402_300_740 else { return nil } // 0001...9999
        // Start from the smallest wall time that could map after `after`: just after a spring-forward
        // change, wall times inside the gap map to instants after the change, so read `after` with
        // the earlier (smaller) offset as well.
        let lowestOffset = min(offset(at: after), offset(at: after - 86_400))
        var cursor = Int64(((after + Double(lowestOffset)) / 60).rounded(.down)) * 60 + 60
        let yearLimit = min(CivilDate(daysSinceEpoch: cursor.floorDivided(by: 86_400)).year + Self.searchYears, 9_999)
        var best: Int64?
        var bestWall = Int64.max
        while cursor <= bestWall, let wall = nextMatchingWall(atOrAfter: cursor, yearLimit: yearLimit), wall <= bestWall {
            let (instant, shifted) = instant(forWall: wall)
            if Double(instant) > after, instant < best ?? .max {
                best = instant
                // Any later wall time maps after this instant once past the instant's real wall time.
                bestWall = shifted ? instant + Int64(offset(at: Double(instant))) : wall
            }
            cursor = wall + 60
        }
        return best.map { Date(timeIntervalSince1970: Double($0)) }
    }

    // MARK: - Wall time to instant

    /// The instant a wall time (seconds since 1970-01-01 read as local time) fires at, and whether
    /// it fell in a spring-forward gap.
    ///
    /// Offsets are probed on either side of every instant the wall time could be (UTC offsets lie
    /// within −12 h…+14 h). With the offset before (`early`) and after (`late`) any change there:
    /// the wall time is real under `early` → that instant (for a repeated wall time, the first
    /// occurrence); else real under `late` → that instant; else it is in the gap → read it with
    /// `early`, which lands as far after the change as the wall time was after the gap's start.
    func instant(forWall wall: Int64) -> (instant: Int64, shifted: Bool) {
        let early = offset(at: Double(wall - 15 * 3_600))
        let late = offset(at: Double(wall + 13 * 3_600))
        if early == late {
            return (wall - Int64(early), false)
        }
        if offset(at: Double(wall - Int64(early))) == early {
            return (wall - Int64(early), false)
        }
        if offset(at: Double(wall - Int64(late))) == late {
            return (wall - Int64(late), false)
        }
        return (wall - Int64(early), true)
    }

    private func offset(at secondsSince1970: Double) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: secondsSince1970))
    }
}
