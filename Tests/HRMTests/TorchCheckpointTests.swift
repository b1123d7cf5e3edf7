import Foundation
import Models
import Reasoning
import Tensors
import Testing
import TestSupport
@testable import Training

/// The reference's own checkpoint format, read without Python: fixtures written by `torch.save`
/// itself (`tools/reference/make_torch_checkpoints.py`), each beside `expected.safetensors`, the
/// same tensors written by the safetensors package.
@Suite struct TorchCheckpointTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/torch")

    static func checkpoint(_ name: String) -> URL { folder.appendingPathComponent("\(name)/checkpoint") }

    @Test(arguments: [("hrm", "hrm"), ("hrm-bf16", "hrm-bf16"), ("hrm-legacy", "hrm"), ("trm-mlp", "trm-mlp")])
    func everyTensorEqualsTheSafetensorsCopy(checkpoint name: String, expected: String) throws {
        let file = try TorchCheckpointFile(contentsOf: Self.checkpoint(name))
        #expect(file.format == (name.hasSuffix("legacy") ? .legacy : .zip))
        let reference = try SafetensorsFile(contentsOf: Self.folder.appendingPathComponent("\(expected)/expected.safetensors"))
        #expect(Set(file.tensorInfo.keys) == Set(reference.entries.keys))
        #expect(file.tensorInfo.keys.allSatisfy { $0.hasPrefix("_orig_mod.model.inner.") })
        for (key, entry) in reference.entries {
            let info = try #require(file.tensorInfo[key])
            #expect(info == TensorInfo(dtype: entry.dtype, shape: entry.shape), "\(key)")
            #expect(try file.tensor(key).scalars == reference.tensor(key).scalars, "\(key)")
        }
        #expect(file.otherEntries.isEmpty)
    }

    @Test func viewsAndDTypesAreTheOnesTheFixtureMeansToTest() throws {
        let file = try TorchCheckpointFile(contentsOf: Self.checkpoint("hrm"))
        let lm = try #require(file.tensors["_orig_mod.model.inner.lm_head.weight"])
        #expect(lm.strides == [1, 6])  // a transposed [8, 6] storage
        let q = try #require(file.tensors["_orig_mod.model.inner.q_head.weight"])
        #expect(q.offset == 8 && q.storage.elementCount == 24)  // rows 1…2 of a [3, 8] storage
        #expect(file.tensorInfo["_orig_mod.model.inner.H_init"]?.dtype == "BF16")
        #expect(file.tensorInfo["_orig_mod.model.inner.lm_head.weight"]?.dtype == "F32")
        let all = try TorchCheckpointFile(contentsOf: Self.checkpoint("hrm-bf16"))
        #expect(all.tensorInfo.values.allSatisfy { $0.dtype == "BF16" })
    }

    @Test func configurationComesFromTheYAMLAndTheTensorShapes() throws {
        let hrm = try TorchCheckpointFile(contentsOf: Self.checkpoint("hrm"))
        // RoPE positions are not stored: seq_len must come from the data.
        #expect(throws: CheckpointError.self) { try ReferenceCheckpoint.configuration(for: hrm) }
        guard case .hrm(let h) = try ReferenceCheckpoint.configuration(for: hrm, sequenceLength: 16) else {
            Issue.record("expected HRM")
            return
        }
        #expect(h.vocabularySize == 6 && h.puzzleIdentifierCount == 3 && h.sequenceLength == 16)
        #expect(h.hiddenSize == 8 && h.highLayerCount == 1 && h.lowCycles == 2 && h.haltMaxSteps == 3)

        let trm = try TorchCheckpointFile(contentsOf: Self.checkpoint("trm-mlp"))
        // mlp_t weights record the positions: the hint is not needed and a wrong one is overruled.
        guard case .trm(let t) = try ReferenceCheckpoint.configuration(for: trm, sequenceLength: 99) else {
            Issue.record("expected TRM")
            return
        }
        #expect(t.sequenceLength == 16 && t.positionMLP && t.puzzleEmbeddingLength == 4 && t.layerCount == 1)
    }

    @Test func yamlThatContradictsTheTensorsIsRefusedByField() throws {
        let hrm = try TorchCheckpointFile(contentsOf: Self.checkpoint("hrm"))
        let yaml = try String(contentsOf: Self.folder.appendingPathComponent("hrm/all_config.yaml"), encoding: .utf8)
        func message(_ text: String) -> String {
            do {
                _ = try ReferenceCheckpoint.configuration(yaml: text, source: "all_config.yaml", tensors: hrm, sequenceLength: 16)
                return ""
            } catch { return "\(error)" }
        }
        #expect(message(yaml.replacingOccurrences(of: "hidden_size: 8", with: "hidden_size: 512")).contains("'arch.hidden_size' is 512"))
        #expect(message(yaml.replacingOccurrences(of: "HierarchicalReasoningModel", with: "Other")).contains("'arch.name'"))
        #expect(message(yaml.replacingOccurrences(of: "  H_cycles: 2\n", with: "")).contains("H_cycles"))
        #expect(message("arch: [1, 2\n").contains("all_config.yaml: invalid configuration: not valid YAML"))
    }

    /// The PyTorch forward of the spec implementations, recorded beside the checkpoint, against
    /// the model loaded straight from the `torch.save` file.
    @Test(arguments: ["hrm", "hrm-legacy", "trm-mlp"]) func loadedModelMatchesThePyTorchForward(name: String) throws {
        let model = try Checkpoint.load(from: Self.checkpoint(name), sequenceLength: 16)
        let recordedIn = name == "trm-mlp" ? "trm-mlp" : "hrm"
        let forward = try SafetensorsFile(contentsOf: Self.folder.appendingPathComponent("\(recordedIn)/forward.safetensors"))
        let dump = ForwardDump.run(model: model, inputs: try forward.int32s("inputs"),
                                   puzzleIdentifiers: try forward.int32s("puzzle_identifiers"), steps: 2)
        for (key, tensor) in dump {
            try expectFixtureClose(forward, tensor, key, relative: 1e-4)
        }
    }

    // MARK: - Bad input: one sentence naming the file and what was found; nothing is run.

    func message(_ bytes: Data) -> String {
        do {
            _ = try TorchCheckpointFile(data: bytes, path: "bad/checkpoint")
            return ""
        } catch let e as TorchCheckpointError { return e.description } catch { return "other: \(error)" }
    }

    /// A legacy-format file (magic, version, system info, then `object`) around a crafted pickle.
    func legacy(_ object: [UInt8]) -> Data {
        let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
        let version: [UInt8] = [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]
        let info: [UInt8] = [0x80, 0x02, 0x7D, 0x2E]
        return Data(magic + version + info + [0x80, 0x02] + object)
    }

    @Test func globalsAndOpcodesOutsideAStateDictAreRefusedNotRun() {
        let system = legacy(Array("cos\nsystem\n".utf8) + [0x58, 2, 0, 0, 0] + Array("ls".utf8) + [0x85, 0x52, 0x2E])
        #expect(message(system).contains("the global 'os.system' is not one a state dict uses"))
        #expect(message(system).hasPrefix("bad/checkpoint: "))
        let inst = legacy([0x69] + Array("os\nsystem\n".utf8) + [0x2E])  // INST
        #expect(message(inst).contains("opcode 0x69 is not one a state dict uses"))
        let builtins = legacy([0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93, 0x2E])
        #expect(message(builtins).contains("'builtins.eval'"))
        #expect(message(legacy([0x7D])).contains("ends without STOP"))
        // 100 nested tuples: refused as they are built (releasing them would recurse that deep).
        #expect(message(legacy([0x4E] + Array(repeating: 0x85, count: 100) + [0x2E])).contains("containers nest deeper than 32"))
        // A list placed in another, then changed (how a deep chain could hide its depth).
        let grown = legacy([0x5D, 0x71, 0, 0x5D, 0x68, 0, 0x61, 0x68, 0, 0x4E, 0x61, 0x2E])
        #expect(message(grown).contains("a list changes after it was placed in another container"))
        #expect(message(Data([0x80, 0x02, 0x7D, 0x2E])).contains("no magic number"))
    }

    @Test func damagedZipsAreRefusedWithTheReason() throws {
        let good = try Data(contentsOf: Self.checkpoint("hrm"))
        #expect(message(good.prefix(good.count / 2)).contains("no end-of-central-directory record"))
        // A storage entry renamed in the central directory: the pickle's key has no bytes.
        var renamed = good
        let name = Data("checkpoint/data/3".utf8)
        let last = try #require(renamed.range(of: name, options: .backwards))
        renamed[last.upperBound - 1] = UInt8(ascii: "Z")
        #expect(message(renamed).contains("storage '3' has no entry 'checkpoint/data/3' in the zip"))
        // One byte of the pickle changed: its CRC no longer matches.
        var flipped = good
        let pickle = try #require(flipped.range(of: Data("collections".utf8)))
        flipped[pickle.lowerBound] ^= 0x20
        #expect(message(flipped).contains("fails its CRC check"))
    }
}
