import Foundation
import Secrets
import Testing
import Vault

@Suite("Key ring file")
struct KeyRingFileTests {
    @Test("write then load returns the same keys, order and active key")
    func roundTrip() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appending(component: "master.keys")
            let ring = try KeyRing(keys: [Fixtures.k1, Fixtures.k2, Fixtures.key(0x33)], activeID: Fixtures.k2.id)
            try KeyRingFile.write(ring, to: url)
            let loaded = try KeyRingFile.load(from: url)
            #expect(loaded.keys.map(\.id) == ring.keys.map(\.id))
            #expect(loaded.active.id == Fixtures.k2.id)
            #expect(loaded.keys.map(\.base64Secret.revealedValue) == ring.keys.map(\.base64Secret.revealedValue))
        }
    }

    @Test("the file is the documented JSON document")
    func documentShape() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appending(component: "master.keys")
            try KeyRingFile.write(KeyRing(single: Fixtures.k1), to: url)
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
            #expect(object?["version"] as? Int == 1)
            #expect(object?["active"] as? String == Fixtures.k1.id)
            let keys = try #require(object?["keys"] as? [[String: String]])
            #expect(keys == [["id": Fixtures.k1.id, "key": Fixtures.k1.base64Secret.revealedValue]])
        }
    }

    @Test("the written file has mode 0600, also when replacing a looser file, and no temporary file remains")
    func fileMode() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appending(component: "master.keys")
            try KeyRingFile.write(KeyRing(single: Fixtures.k1), to: url)
            #expect(try permissions(of: url) == 0o600)

            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path(percentEncoded: false))
            try KeyRingFile.write(KeyRing(single: Fixtures.k2), to: url)
            #expect(try permissions(of: url) == 0o600)
            #expect(try KeyRingFile.load(from: url).active.id == Fixtures.k2.id)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path(percentEncoded: false)) == ["master.keys"])
        }
    }

    @Test("writing into a missing directory fails with a key file error")
    func missingDirectory() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appending(component: "absent").appending(component: "master.keys")
            let error = try #require(throws: VaultError.self) { try KeyRingFile.write(KeyRing(single: Fixtures.k1), to: url) }
            guard case .keyFile(let path, _) = error else {
                Issue.record("expected keyFile, got \(error)")
                return
            }
            #expect(path == url.path(percentEncoded: false))
        }
    }

    @Test("loadOrCreate creates a 0600 file once, then loads the same key")
    func loadOrCreate() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appending(component: "master.keys")
            let first = try KeyRingFile.loadOrCreate(at: url)
            #expect(first.created)
            #expect(first.ring.keys.count == 1)
            #expect(try permissions(of: url) == 0o600)
            let second = try KeyRingFile.loadOrCreate(at: url)
            #expect(!second.created)
            #expect(second.ring.active.id == first.ring.active.id)
            #expect(second.ring.active.base64Secret.revealedValue == first.ring.active.base64Secret.revealedValue)
        }
    }

    @Test("a file holding one base64 key (docker-secret style) loads as a one-key ring", arguments: ["", "\n", "\r\n", "  \n\n"])
    func plainBase64(_ trailer: String) throws {
        try withTemporaryDirectory { directory in
            let url = directory.appending(component: "master_key")
            try Data((Fixtures.k1.base64Secret.revealedValue + trailer).utf8).write(to: url)
            let ring = try KeyRingFile.load(from: url)
            #expect(ring.keys.map(\.id) == [Fixtures.k1.id])
            #expect(ring.active.id == Fixtures.k1.id)
        }
    }

    static let secretKey = Fixtures.key(0x5a).base64Secret.revealedValue
    static let secretID = Fixtures.key(0x5a).id

    static let brokenFiles: [(String, String)] = [
        ("empty", ""),
        ("blank", " \n"),
        ("junk", "hello world"),
        ("truncated JSON", #"{"version":1,"active":"\#(secretID)","keys":[{"#),
        ("wrong version", #"{"version":2,"active":"\#(secretID)","keys":[{"id":"\#(secretID)","key":"\#(secretKey)"}]}"#),
        ("no keys", #"{"version":1,"active":"\#(secretID)","keys":[]}"#),
        ("mislabelled key", #"{"version":1,"active":"k0000000000000000","keys":[{"id":"k0000000000000000","key":"\#(secretKey)"}]}"#),
        ("active missing", #"{"version":1,"active":"\#(Fixtures.k1.id)","keys":[{"id":"\#(secretID)","key":"\#(secretKey)"}]}"#),
        ("duplicate key", #"{"version":1,"active":"\#(secretID)","keys":[{"id":"\#(secretID)","key":"\#(secretKey)"},{"id":"\#(secretID)","key":"\#(secretKey)"}]}"#),
        ("short key", #"{"version":1,"active":"\#(secretID)","keys":[{"id":"\#(secretID)","key":"\#(secretKey.dropFirst(4))"}]}"#),
        ("key as number", #"{"version":1,"active":"\#(secretID)","keys":[{"id":"\#(secretID)","key":7}]}"#),
        ("short bare key", String(secretKey.dropFirst(4))),
    ]

    @Test("broken files fail with a key file error that quotes no key material", arguments: brokenFiles)
    func brokenFile(_ name: String, _ contents: String) throws {
        try withTemporaryDirectory { directory in
            let url = directory.appending(component: "master.keys")
            try Data(contents.utf8).write(to: url)
            let error = try #require(throws: VaultError.self) { try KeyRingFile.load(from: url) }
            guard case .keyFile(let path, _) = error else {
                Issue.record("\(name): expected keyFile, got \(error)")
                return
            }
            #expect(path == url.path(percentEncoded: false))
            #expect(!error.description.contains(Self.secretKey.prefix(12)), "\(name)")
            #expect(!error.description.contains(Self.secretKey.dropFirst(4).prefix(12)), "\(name)")
        }
    }

    @Test("a missing file is reported as missing")
    func missingFile() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appending(component: "nope")
            let error = try #require(throws: VaultError.self) { try KeyRingFile.load(from: url) }
            #expect(error == .keyFile(path: url.path(percentEncoded: false), reason: "the file does not exist"))
        }
    }

    // MARK: - resolve

    @Test("POSTHORN_MASTER_KEY wins over POSTHORN_MASTER_KEY_FILE and the default file")
    func environmentKeyWins() throws {
        try withTemporaryDirectory { directory in
            let keyFile = directory.appending(component: "from-env-file")
            try KeyRingFile.write(KeyRing(single: Fixtures.k2), to: keyFile)
            let defaultURL = directory.appending(component: "default.keys")
            let environment = [
                "POSTHORN_MASTER_KEY": Fixtures.k1.base64Secret.revealedValue + "\n",
                "POSTHORN_MASTER_KEY_FILE": keyFile.path(percentEncoded: false),
            ]
            let (ring, source) = try KeyRingFile.resolve(environment: environment, defaultURL: defaultURL)
            #expect(ring.keys.map(\.id) == [Fixtures.k1.id])
            #expect(source == .environment)
            #expect(!FileManager.default.fileExists(atPath: defaultURL.path(percentEncoded: false)))
        }
    }

    @Test("POSTHORN_MASTER_KEY_FILE wins over the default file and is never created")
    func environmentFileWins() throws {
        try withTemporaryDirectory { directory in
            let keyFile = directory.appending(component: "from-env-file")
            try KeyRingFile.write(KeyRing(single: Fixtures.k2), to: keyFile)
            let defaultURL = directory.appending(component: "default.keys")
            let environment = ["POSTHORN_MASTER_KEY_FILE": keyFile.path(percentEncoded: false)]
            let (ring, source) = try KeyRingFile.resolve(environment: environment, defaultURL: defaultURL)
            #expect(ring.active.id == Fixtures.k2.id)
            #expect(source == .file(keyFile, created: false))
            #expect(!FileManager.default.fileExists(atPath: defaultURL.path(percentEncoded: false)))

            let missing = ["POSTHORN_MASTER_KEY_FILE": directory.appending(component: "missing").path(percentEncoded: false)]
            #expect(throws: VaultError.self) { try KeyRingFile.resolve(environment: missing, defaultURL: defaultURL) }
            #expect(!FileManager.default.fileExists(atPath: defaultURL.path(percentEncoded: false)))
        }
    }

    @Test("without either variable the default file is created once, then reused")
    func defaultFile() throws {
        try withTemporaryDirectory { directory in
            let defaultURL = directory.appending(component: "default.keys")
            let first = try KeyRingFile.resolve(environment: ["HOME": "/root"], defaultURL: defaultURL)
            #expect(first.source == .file(defaultURL, created: true))
            let second = try KeyRingFile.resolve(environment: [:], defaultURL: defaultURL)
            #expect(second.source == .file(defaultURL, created: false))
            #expect(second.ring.active.id == first.ring.active.id)
        }
    }

    @Test("a bad or empty variable is an error, not a fall-through, and is not quoted", arguments: [
        ["POSTHORN_MASTER_KEY": ""],
        ["POSTHORN_MASTER_KEY": "  \n"],
        ["POSTHORN_MASTER_KEY": String(Fixtures.k1.base64Secret.revealedValue.dropFirst(4))],
        ["POSTHORN_MASTER_KEY_FILE": ""],
    ])
    func badVariable(_ environment: [String: String]) throws {
        try withTemporaryDirectory { directory in
            let defaultURL = directory.appending(component: "default.keys")
            let error = try #require(throws: VaultError.self) {
                try KeyRingFile.resolve(environment: environment, defaultURL: defaultURL)
            }
            #expect(!FileManager.default.fileExists(atPath: defaultURL.path(percentEncoded: false)))
            if let value = environment["POSTHORN_MASTER_KEY"], value.count > 8 {
                #expect(!error.description.contains(value.prefix(8)))
            }
        }
    }
}
