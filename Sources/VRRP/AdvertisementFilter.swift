import Addresses

/// The per-instance receive checks of RFC 3768 §7.1 and RFC 5798 §7.1, in keepalived's order.
///
/// Wiring: decode with `Advertisement.decode(...)`, pick the instance by VRID, run `check`, count the rejection's
/// reason, and feed accepted ones to `VRRPInstance.handle(.advertReceived(...))`.
public struct AdvertisementFilter: Sendable, Hashable {
    /// How the TTL / hop limit of a received packet is judged.
    public enum HopLimitPolicy: Sendable, Hashable {
        /// Exactly 255: multicast, and unicast by default in the RFCs.
        case exactly255
        /// keepalived's `unicast_peer ... min_ttl/max_ttl`.
        case range(ClosedRange<UInt8>)
        /// keepalived's unicast default: routed unicast peers arrive with a decremented TTL.
        case any
    }

    /// Version this instance runs.
    public var version: VRRPVersion
    /// VRID this instance answers to.
    public var virtualRouterID: UInt8
    /// Local advert interval; v2 drops a different one, v3 learns the master's.
    public var advertIntervalCentiseconds: UInt16
    /// Local v2 authentication (ignored for v3).
    public var authentication: Authentication
    /// Configured virtual addresses to compare with, or nil to skip (keepalived's `skip_check_adv_addr`).
    public var addresses: [IPAddress]?
    /// Configured (base) priority; 255 means we own the addresses and drop every advert.
    public var localPriority: UInt8
    /// TTL rule.
    public var hopLimit: HopLimitPolicy
    /// Unicast peers accepted as sources (`check_unicast_src`), or nil for any.
    public var allowedSources: Set<IPAddress>?
    /// keepalived's per-peer min_ttl/max_ttl, checked once the source is allowed; lower > upper drops everything.
    public var sourceHopLimits: [IPAddress: SourceHopLimit]

    public struct SourceHopLimit: Sendable, Hashable {
        public var lower: UInt8
        public var upper: UInt8

        public init(lower: UInt8, upper: UInt8) {
            self.lower = lower
            self.upper = upper
        }
    }

    public init(
        version: VRRPVersion, virtualRouterID: UInt8, advertIntervalCentiseconds: UInt16,
        authentication: Authentication = .none, addresses: [IPAddress]?, localPriority: UInt8,
        hopLimit: HopLimitPolicy = .exactly255, allowedSources: Set<IPAddress>? = nil,
        sourceHopLimits: [IPAddress: SourceHopLimit] = [:]
    ) {
        self.version = version
        self.virtualRouterID = virtualRouterID
        self.advertIntervalCentiseconds = advertIntervalCentiseconds
        self.authentication = authentication
        self.addresses = addresses
        self.localPriority = localPriority
        self.hopLimit = hopLimit
        self.allowedSources = allowedSources
        self.sourceHopLimits = sourceHopLimits
    }

    /// nil when the advertisement is acceptable, else the reason to count.
    public func check(_ received: ReceivedAdvertisement) -> AdvertRejection? {
        let advert = received.advertisement
        let hopLimitAccepted: Bool
        switch hopLimit {
        case .exactly255: hopLimitAccepted = received.hopLimit == 255
        case .range(let range): hopLimitAccepted = range.contains(received.hopLimit)
        case .any: hopLimitAccepted = true
        }
        guard hopLimitAccepted else {
            return AdvertRejection(.hopLimit, "TTL/hop limit \(received.hopLimit) from \(received.source)")
        }
        if let allowedSources {
            guard allowedSources.contains(received.source) else {
                return AdvertRejection(.unexpectedSource, "\(received.source) is not a unicast peer")
            }
            if let limit = sourceHopLimits[received.source], received.hopLimit < limit.lower || received.hopLimit > limit.upper {
                return AdvertRejection(
                    .hopLimit, "TTL/hop limit \(received.hopLimit) from \(received.source), expected \(limit.lower)..\(limit.upper)")
            }
        }
        guard advert.version == version else {
            return AdvertRejection(
                .versionMismatch, "version \(advert.version.rawValue), running \(version.rawValue)")
        }
        guard advert.virtualRouterID == virtualRouterID else {
            return AdvertRejection(
                .unknownVirtualRouter, "VRID \(advert.virtualRouterID), expected \(virtualRouterID)")
        }
        guard localPriority != 255 else {
            return AdvertRejection(.localAddressOwner, "advert from \(received.source) while we own the addresses")
        }
        if version == .v2 {
            guard advert.authentication.type == authentication.type else {
                return AdvertRejection(
                    .authTypeMismatch, "auth type \(advert.authentication.type), expected \(authentication.type)")
            }
            if case .password(let expected) = authentication, advert.authentication != .password(expected) {
                return AdvertRejection(.authFailure, "password mismatch from \(received.source)")
            }
        }
        guard advert.advertIntervalCentiseconds != 0 else {
            return AdvertRejection(.invalidInterval, "advert interval 0 from \(received.source)")
        }
        if version == .v2 && advert.advertIntervalCentiseconds != advertIntervalCentiseconds {
            return AdvertRejection(
                .intervalMismatch,
                "advert interval \(advert.advertIntervalCentiseconds / 100) s, "
                    + "configured \(advertIntervalCentiseconds / 100) s")
        }
        // RFC 3768 §7.1: a differing address list is dropped unless the address owner (priority 255) sent it.
        if let addresses, advert.priority != 255 {
            guard advert.addresses.count == addresses.count else {
                return AdvertRejection(
                    .addressCount, "\(advert.addresses.count) addresses, configured \(addresses.count)")
            }
            let configured = Set(addresses)
            if let stray = advert.addresses.first(where: { !configured.contains($0) }) {
                return AdvertRejection(.addressList, "\(stray) is not a configured virtual address")
            }
        }
        return nil
    }
}
