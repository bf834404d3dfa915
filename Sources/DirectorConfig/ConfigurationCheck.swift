// What `directord --check/--dump` and `directorctl check` report, built here so both tools say the same thing;
// the executables do the printing.

public struct ConfigurationCheckReport: Sendable {
    /// True when the configuration has no error (warnings allowed).
    public var valid: Bool
    /// For standard output: the effective configuration, when asked for and valid.
    public var output: String
    /// For standard error: every diagnostic, then a one-line verdict.
    public var messages: String
}

public enum ConfigurationCheck {
    /// `hostChecks`: what this host makes of a valid configuration, beyond the language (the daemon passes its
    /// script policy: users that do not exist, scripts others could change), each line reported as a warning.
    public static func report(path: String, dump: Bool, program: String, loader: ConfigurationLoader = ConfigurationLoader(),
                              hostChecks: (Configuration) -> [String] = { _ in [] }) -> ConfigurationCheckReport {
        let result = loader.load(path: path)
        var messages = ""
        for diagnostic in result.diagnostics { messages += diagnostic.description + "\n" }
        var output = ""
        if let configuration = result.configuration {
            let host = hostChecks(configuration)
            for line in host { messages += "\(line)\n" }
            let warnings = result.warnings.count + host.count
            messages += "\(program): \(path): configuration is valid\(warnings == 0 ? "" : " (\(warnings) warning\(warnings == 1 ? "" : "s"))")\n"
            if dump { output = ConfigurationWriter.render(configuration) }
        } else {
            let errors = result.errors.count
            messages += "\(program): \(path): \(errors) error\(errors == 1 ? "" : "s"); the configuration is not valid\n"
        }
        return ConfigurationCheckReport(valid: result.configuration != nil, output: output, messages: messages)
    }
}
