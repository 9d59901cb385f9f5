import Foundation
import Flows

/// The scope most template tests render in.
enum TemplateFixtures {
    static let body: JSONValue = [
        "name": "Ada",
        "first name": "Ada L.",
        "a.b": "dotted key",
        "say": #"say "hi""#,
        "count": 3,
        "ratio": 0.25,
        "vip": true,
        "nick": .null,
        "items": [["email": "a@x.io"], ["email": "b@x.io"]],
        "address": ["city": "Zürich", "zip": "8001"],
        "tags": ["x", "y"],
        "0": "zero key",
        "prénom": "Adèle",
    ]

    /// 2025-03-09T07:30:00.123Z.
    static let now = Date(timeIntervalSince1970: 1_741_505_400.123)

    static let scope = TemplateScope(
        triggerBody: body,
        triggerHeaders: ["X-Signature": "sig-123", "Content-Type": "application/json"],
        triggerQuery: ["page": "2", "Page": "upper"],
        stepOutputs: [
            "fetch": ["id": 42, "user": ["email": "u@x.io"]],
            "send mail": ["messageId": "<m@x>"],
        ],
        runID: "run_123",
        now: now
    )
}
