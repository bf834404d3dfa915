// What `directord --check/--dump` and `directorctl check` print, shared so both tools say the same thing.
import Glibc

public enum ConfigurationCheck {
    /// Loads `path`, prints diagnostics to stderr (and the effective configuration to stdout when `dump`);
    /// true when the configuration has no error.
    public static func run(path: String, dump: Bool, program: String) -> Bool {
        let result = ConfigurationLoader().load(path: path)
        var report = ""
        for diagnostic in result.diagnostics { report += diagnostic.description + "\n" }
        if let configuration = result.configuration {
            let warnings = result.warnings.count
            report += "\(program): \(path): configuration is valid\(warnings == 0 ? "" : " (\(warnings) warning\(warnings == 1 ? "" : "s"))")\n"
            if dump { print(ConfigurationWriter.render(configuration), terminator: "") }
        } else {
            let errors = result.errors.count
            report += "\(program): \(path): \(errors) error\(errors == 1 ? "" : "s"); the configuration is not valid\n"
        }
        // write(2) on fd 2 rather than the `stderr` FILE global, which Swift 6 treats as shared mutable state.
        var bytes = Array(report.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { break }
            bytes = bytes.dropFirst(written)
        }
        return result.configuration != nil
    }
}
