// libFuzzer entry point over the configuration reader, keyword tables and validator (built by
// Tests/Fuzz/run-config-fuzz.sh together with the DirectorConfig sources, as one module).
// Properties: no crash, hang or sanitizer report on any input; and a valid configuration survives
// ConfigurationWriter.render followed by a fresh parse unchanged.
import Glibc

@_cdecl("LLVMFuzzerTestOneInput")
public func configFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The same bytes under the names an include is likely to use, so includes and cycles are exercised.
    let fileSystem = InMemoryFileSystem(bytes: ["main.conf": bytes, "inc.conf": bytes, "conf.d/a.conf": bytes])
    var limits = ParseLimits()
    limits.maximumLineLength = 4_096
    limits.maximumFileSize = 1 << 20
    limits.maximumTotalSize = 4 << 20
    limits.maximumFiles = 16
    let result = ConfigurationLoader(fileSystem: fileSystem, limits: limits).load(path: "main.conf")
    guard let configuration = result.configuration else { return 0 }
    let dumped = ConfigurationWriter.render(configuration)
    let reparsed = ConfigurationLoader.parse(dumped)
    if reparsed.configuration != configuration {
        print("round trip changed the configuration:\n\(dumped)\n\(reparsed.diagnostics)")
        abort()
    }
    return 0
}
