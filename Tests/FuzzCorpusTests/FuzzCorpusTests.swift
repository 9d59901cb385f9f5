import Foundation
import FuzzTargets
import Testing

/// Replays every input of `Fuzz/Corpus/<target>/` through its target in the ordinary test build:
/// the seeds, what libFuzzer found interesting, and every input that once broke something.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus")

    @Test("every target has a corpus, and every input of it runs without breaking an invariant", arguments: FuzzTarget.allCases)
    func replay(_ target: FuzzTarget) throws {
        let directory = Self.corpus.appendingPathComponent(target.rawValue)
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
        #expect(files.count >= 5, "the \(target.rawValue) corpus has seeds")
        for file in files {
            target.run(try Data(contentsOf: file))
        }
    }
}
