// libFuzzer entry point over the VRRP advert decoder (built by Tests/Fuzz/run-advert-fuzz.sh together with the VRRP
// sources, as one module). The property lives in Sources/VRRP/AdvertFuzzProperty.swift, shared with the unit test
// that replays the corpus.
import Glibc

@_cdecl("LLVMFuzzerTestOneInput")
public func advertFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let violation = AdvertFuzzProperty.check(Array(UnsafeBufferPointer(start: data, count: size))) {
        print(violation)
        abort()
    }
    return 0
}
