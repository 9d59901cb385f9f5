extension SMTPReply {
    /// Whether the reply says the provider is throttling this sender: a 421 or 451 whose enhanced
    /// code is 4.7.x (Gmail's `421 4.7.0 Try again later`, SES's `451 4.7.1`), or whose text
    /// names a rate, a limit or a quota ("too many messages", "rate limited", "throttled"). A 421
    /// that only announces a shutdown ("Service not available, closing transmission channel") is
    /// not: the server is going away, not asking this sender to slow down.
    public var isThrottling: Bool {
        guard code == 421 || code == 451 else { return false }
        if let enhanced = enhancedCode, enhanced.subject == 7 { return true }
        let words = text.lowercased().split { !$0.isLetter }
        if words.contains(where: { Self.throttlingWords.contains(String($0)) }) { return true }
        return zip(words, words.dropFirst()).contains { $0 == "too" && $1 == "many" }
    }

    /// Words that name a rate or a limit in providers' throttling replies.
    private static let throttlingWords: Set<String> = [
        "rate", "rates", "ratelimit", "ratelimited", "limit", "limits", "limited", "exceeded", "quota", "throttled",
        "throttling", "throttle",
    ]
}
