import Foundation

/// A fresh, empty folder under the system's temporary directory, unique to the caller.
public func temporaryDirectory(_ prefix: String = "hrm-tests") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
