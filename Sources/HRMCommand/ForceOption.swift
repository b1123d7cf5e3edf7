import ArgumentParser

/// `--force`, shared by every command that writes: replace an existing output only when it is a
/// complete one of the same kind that hrm wrote (`OutputTarget`); anything else is still refused.
struct ForceOption: ParsableArguments {
    @Flag(help: "Replace an existing output if it is a complete one of the same kind written by hrm (a folder holding anything else is still refused).")
    var force = false
}
