// libFuzzer entry point over the HTTP response parser (built by Tests/Fuzz/run-http-fuzz.sh with the parser's
// sources as one module). The property lives in Sources/HealthCheck/HTTP/HTTPParserFuzzProperty.swift, shared with
// the unit test that replays the corpus.
import Glibc

@_cdecl("LLVMFuzzerTestOneInput")
public func httpFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let violation = HTTPParserFuzzProperty.check(Array(UnsafeBufferPointer(start: data, count: size))) {
        print(violation)
        abort()
    }
    return 0
}
