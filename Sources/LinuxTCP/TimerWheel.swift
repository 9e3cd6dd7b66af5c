/// The kernel timer wheel's rounding of timer expiries (`kernel/time/timer.c`, ≥4.8).
///
/// A timer `delta` jiffies away is filed in the level whose granularity fits it and fires on
/// the next multiple of that granularity strictly after its expiry: 60 s at HZ=250 (level 3,
/// 512 jiffies) lives 60 s + (0, 2.048 s] (TW-3, lab-notes o: 60.4–62.1 s), and the 32 s SYN
/// RTO fires at ~33.8 s (checklist 44).
public enum TimerWheel {
    /// Level thresholds: LVL_START(n) = 63 << 3(n−1); granularity of level n = 8^n jiffies.
    @inlinable public static func roundedExpiry(nowJiffies: Int64, deltaJiffies: Int64) -> Int64 {
        let expires = nowJiffies + deltaJiffies
        // calc_index(): even level 0 rounds up by one tick so a timer never fires early.
        if deltaJiffies < 63 { return expires + 1 }
        var level: Int64 = 1
        while level < 8 && deltaJiffies >= (63 << (3 * level)) { level += 1 }
        let shift = 3 * level
        return ((expires + (1 << shift)) >> shift) << shift
    }
}
