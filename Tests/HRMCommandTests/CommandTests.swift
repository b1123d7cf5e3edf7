import ArgumentParser
import Foundation
import Testing
@testable import HRMCommand

@Suite struct CommandTests {
    @Test func benchKernelsParsesItsOptions() throws {
        let command = try HRMCommand.parseAsRoot(["bench", "kernels", "--batch", "8,64", "--samples", "3", "--json"])
        let kernels = try #require(command as? KernelsCommand)
        #expect(kernels.batch == "8,64" && kernels.samples == 3 && kernels.json)
    }

    @Test(arguments: [["bench", "kernels", "--batch", "0"], ["bench", "kernels", "--batch", "8,x"],
                      ["bench", "kernels", "--samples", "0"]])
    func badBenchOptionsAreRejected(_ arguments: [String]) {
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(arguments) }
    }

    @Test func inspectForwardRequiresItsFiles() throws {
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["inspect", "forward", "--inputs", "x.npy"]) }
        let parsed = try HRMCommand.parseAsRoot(["inspect", "forward", "--checkpoint", "m.safetensors",
                                                 "--inputs", "x.npy", "--out", "o.safetensors", "--steps", "4"])
        let forward = try #require(parsed as? ForwardCommand)
        #expect(forward.steps == 4 && forward.puzzleIds == nil && forward.config == nil)
    }

    @Test func helpShowsAnExampleForEveryCommand() {
        for command: ParsableCommand.Type in [KernelsCommand.self, ForwardCommand.self] {
            let help = command.helpMessage()
            #expect(help.contains("Example:"), "\(command)")
        }
        #expect(HRMCommand.helpMessage().contains("bench") && HRMCommand.helpMessage().contains("inspect"))
    }

    @Test func errorMessagesNameTheFile() throws {
        var forward = try #require(try HRMCommand.parseAsRoot(
            ["inspect", "forward", "--checkpoint", "/nonexistent/m.safetensors", "--inputs", "x.npy",
             "--out", "/tmp/o.safetensors"]) as? ForwardCommand)
        do {
            try forward.run()
            Issue.record("a missing checkpoint must fail")
        } catch {
            #expect("\(error)".contains("/nonexistent/m.safetensors"))
        }
    }
}
