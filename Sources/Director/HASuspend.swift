// `ha_suspend`: a virtual server's checks run only while its address is on this director (on a VRRP backup they
// would only load the real servers), as keepalived suspends them.
import Addresses
import DirectorConfig
import Platform

public enum HASuspend {
    /// The virtual servers whose checks are suspended with these addresses on the host: those with ha_suspend whose
    /// address is not among them. A group's virtual server follows its group: suspended while none of its
    /// addresses and ranges is here. fwmark services have no address to follow (the loader refuses ha_suspend on
    /// them, as keepalived clears it).
    public static func suspended(_ configuration: Configuration, present: Set<IPAddress>) -> Set<String> {
        var suspended = Set<String>()
        for vs in configuration.virtualServers where vs.haSuspend {
            let here: Bool
            switch vs.key {
            case .endpoint(let endpoint):
                here = present.contains(endpoint.address)
            case .group(let name):
                let members = configuration.virtualServerGroups.first { $0.name == name }?.members ?? []
                let ranges: [ClosedRange<IPAddress>] = members.compactMap { member in
                    guard case .range(let first, let last, _) = member, first <= last else { return nil }
                    return first...last
                }
                here = present.contains { address in ranges.contains { $0.contains(address) } }
            case .fwmark:
                continue
            }
            if !here { suspended.insert(vs.identity) }
        }
        return suspended
    }

    /// Whether any virtual server asks for it: the addresses are watched only then.
    public static func isUsed(by configuration: Configuration) -> Bool {
        configuration.virtualServers.contains { $0.haSuspend }
    }

    /// The host's addresses, from getifaddrs.
    @Sendable public static func systemAddresses() -> Set<IPAddress>? {
        guard let all = try? SystemInterfaceAddresses.allAddresses() else { return nil }
        return Set(all.compactMap { IPAddress(bytes: $0) })
    }

    /// How often the addresses are read while some virtual server uses ha_suspend.
    static let pollInterval: Duration = .seconds(1)
}
