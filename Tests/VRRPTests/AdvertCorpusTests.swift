import Foundation
import Testing

@testable import VRRP

/// Replays the advert fuzz corpus (and every input the fuzzer ever turned up) with the fuzz target's property,
/// so `make check` keeps covering them without libFuzzer.
@Suite struct AdvertCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/advert-corpus")

    static var inputs: [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: corpus, includingPropertiesForKeys: nil)) ?? [])
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test func theCorpusHoldsRealAdverts() {
        #expect(Self.inputs.count >= 6)
        // The captured keepalived packets are accepted, so the round trip is really exercised.
        for name in ["keepalivedV2Pass", "keepalivedV3IPv4", "keepalivedV3IPv6"] {
            let bytes = (try? Data(contentsOf: Self.corpus.appendingPathComponent("\(name).bin"))).map { Array($0) } ?? []
            let body = Array(bytes.dropFirst())
            let decoded = bytes.first == 0
                ? Advertisement.decode(ipv4Packet: body)
                : Advertisement.decode(ipv6Payload: body, source: AdvertFuzzProperty.v6Source, destination: .multicastIPv6, hopLimit: 255)
            if case .failure(let rejection) = decoded {
                // The IPv6 capture's checksum covers keepalived's own source address, not ours: a checksum drop
                // is expected there and still exercises the path.
                #expect(name == "keepalivedV3IPv6" && rejection.reason == .badChecksum, "\(name): \(rejection)")
            }
        }
    }

    @Test(arguments: inputs) func replay(_ file: URL) throws {
        let bytes = Array(try Data(contentsOf: file))
        #expect(AdvertFuzzProperty.check(bytes) == nil, "\(file.lastPathComponent)")
    }
}
