/// The bounds that keep one run from exhausting the server, whatever its flow and its input.
///
/// A flow author (or a webhook caller feeding one) controls how large the values between steps get:
/// 27 `debug.echo` steps that each repeat the previous output twice ask for gigabytes. Every value
/// a run makes is therefore measured before it is kept, and a step whose parameters or output break
/// a bound fails with a code that names the bound (`ETOOLARGE`, `ETOODEEP`), instead of the process
/// running out of memory — and then crash-looping, since recovery would run the same step again.
public enum RunLimits {
    /// The largest rendered parameter (its text, or its JSON size) and the largest step output:
    /// 40 MB, room for a 25 MB attachment in base64 (33.4 MB) with its neighbours.
    public static let maximumValueBytes = 40_000_000

    /// The most a run holds in memory at once: every step output it has produced so far (later
    /// steps may read any of them). 100 MB.
    public static let maximumLiveBytes = 100_000_000

    /// The largest parameters or output the run history keeps for one step (1 MB of JSON); a larger
    /// value is replaced in the history by `{"$omitted": {"size": N}}`. The run itself still passes
    /// the whole value to the next steps.
    public static let maximumHistoryValueBytes = 1_000_000

    /// The deepest nesting of arrays and objects accepted anywhere: parsed JSON (webhook bodies,
    /// API bodies, HTTP responses), rendered parameters and step outputs. Deep enough for any real
    /// document; shallow enough that every encoder and decoder we hand a value to copes with it.
    public static let maximumDepth = 64

    /// A step started this many times without finishing (the server stopped under it each time) is
    /// not started again: the run ends `failed` with `EQUARANTINED`.
    public static let quarantineAfterStarts = 3
}
