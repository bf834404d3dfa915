import Addresses

/// Route entries (`virtual_routes`, `static_routes`) in `ip route`'s words, as keepalived 2.2.7 reads them.
extension VRRPInstanceDraft {
    /// Options that take one value.
    private static let valueOptions: Set<String> = [
        "src", "to", "via", "gw", "dev", "oif", "scope", "table", "metric", "priority", "preference", "protocol",
        "tos", "dsfield",
    ]

    /// RTAX_* metrics and their keywords; `lock` may come before the value of the lockable ones.
    private static let metricOptions: [String: (kind: UInt16, lockable: Bool)] = [
        "mtu": (2, true), "window": (3, true), "rtt": (4, true), "rttvar": (5, true), "ssthresh": (6, true),
        "cwnd": (7, true), "advmss": (8, true), "reordering": (9, true), "hoplimit": (10, true),
        "initcwnd": (11, true), "features": (12, false), "rto_min": (13, true), "initrwnd": (14, true),
        "quickack": (15, false), "fastopen_no_cookie": (17, false),
    ]

    /// keepalived knows these and directord does not program them; each is refused by name.
    private static let unsupportedOptions: [String: String] = [
        "encap": "lightweight tunnel encapsulation is not implemented",
        "expires": "expiring routes are not implemented",
        "pref": "IPv6 router preference is not implemented",
        "ttl-propagate": "MPLS TTL propagation is not implemented",
        "congctl": "a per-route congestion control algorithm is not implemented",
        "realms": "route realms are not implemented",
        "as": "MPLS 'as' is not implemented",
        "vrf": "VRFs are not implemented; give the VRF's table with 'table N'",
        "track_group": "directord has no track_group blocks",
        "from": "source-specific IPv6 routes ('from') are not implemented",
    ]

    /// The keyword of an RTAX_* metric, for the dump.
    static func metricName(_ kind: UInt16) -> String {
        metricOptions.first { $0.value.kind == kind }?.key ?? String(kind)
    }

    static let routeTables: [(String, UInt32)] = [("default", 253), ("main", 254), ("local", 255)]

    /// rtm_protocol names of iproute2's rt_protos.
    static let routeProtocols: [(String, UInt8)] = [
        ("redirect", 1), ("kernel", 2), ("boot", 3), ("static", 4), ("gated", 8), ("ra", 9), ("mrt", 10),
        ("zebra", 11), ("bird", 12), ("dnrouted", 13), ("xorp", 14), ("ntk", 15), ("dhcp", 16),
        ("keepalived", 18), ("babel", 42), ("openr", 99), ("bgp", 186), ("isis", 187), ("ospf", 188),
        ("rip", 189), ("eigrp", 192),
    ]

    static func parseVirtualRoute(_ entry: ConfigNode, log: inout DiagnosticLog) -> VirtualRoute? {
        if entry.block != nil {
            log.error(entry.blockLocation ?? entry.location, "a route entry does not take a block")
            return nil
        }
        let words = [entry.keyword] + entry.arguments
        var destination: IPPrefix?
        var family: AddressFamily?
        var route = VirtualRoute(destination: IPPrefix(host: .v4(IPv4Address(0))))
        var orGateway: ConfigWord?
        var i = 0
        while i < words.count {
            let word = words[i]
            if word.text == "nexthop" {
                guard let hops = parseNextHops(words, from: i, log: &log) else { return nil }
                route.nextHops = hops
                break
            }
            if let (kind, lockable) = metricOptions[word.text] {
                guard let (metric, next) = parseMetric(words, at: i, kind: kind, lockable: lockable, log: &log) else { return nil }
                route.metrics.removeAll { $0.kind == kind }
                route.metrics.append(metric)
                i = next
                continue
            }
            if let reason = unsupportedOptions[word.text] {
                log.error(word.location, "route option '\(word.text)' is not supported: \(reason)")
                return nil
            }
            switch word.text {
            case "inet", "inet6":
                family = word.text == "inet" ? .ipv4 : .ipv6
                i += 1
                continue
            case "onlink":
                route.onlink = true
                i += 1
                continue
            case "no_track":
                // keepalived stops watching the route for removal; directord does not watch routes for that.
                i += 1
                continue
            case "add", "prepend":
                route.append = false
                i += 1
                continue
            case "append":
                route.append = true
                i += 1
                continue
            case "default", "any", "all":
                if destination == nil {
                    let f = family ?? .ipv4
                    destination = IPPrefix(address: f == .ipv4 ? .v4(IPv4Address(0)) : .v6(IPv6Address(high: 0, low: 0)), length: 0)
                    i += 1
                    continue
                }
            case "or":
                guard route.gateway != nil, i + 1 < words.count else {
                    log.error(word.location, "'or' needs a 'via' gateway before it and a second gateway after it")
                    return nil
                }
                log.warning(word.location, "'or' in a route is deprecated in keepalived 2.2.7; write 'nexthop via A nexthop via B' (the same multipath route)")
                orGateway = words[i + 1]
                i += 2
                continue
            default:
                break
            }
            guard valueOptions.contains(word.text) else {
                if destination == nil, route.type == .unicast, let type = RouteType(rawValue: word.text), type != .unicast {
                    // keepalived reads a route type only right before the destination.
                    guard i + 1 < words.count, let p = log.prefix(words[i + 1], "\(word.text) route destination") else {
                        if i + 1 >= words.count { log.error(word.location, "'\(word.text)' needs a destination") }
                        return nil
                    }
                    route.type = type
                    destination = p
                    i += 2
                    continue
                }
                if destination == nil && (word.text.first?.isNumber == true || word.text.contains(":")) {
                    destination = log.prefix(word, "route destination")
                    if destination == nil { return nil }
                    i += 1
                    continue
                }
                log.error(word.location, "unknown route option '\(word.text)'; expected [src ADDR] [to] DEST [via ADDR] [dev IF] [scope S] [table N] [metric N] [protocol P] [tos N] [onlink] [mtu N] ... [nexthop ...]")
                return nil
            }
            guard i + 1 < words.count else {
                log.error(word.location, "'\(word.text)' needs a value")
                return nil
            }
            let value = words[i + 1]
            switch word.text {
            case "src":
                guard let a = log.address(value, "route source") else { return nil }
                route.source = a
            case "to":
                guard let p = log.prefix(value, "route destination") else { return nil }
                destination = p
            case "via", "gw":
                if word.text == "gw" {
                    log.warning(word.location, "'gw' in a route is deprecated in keepalived 2.2.7; write 'via'")
                }
                guard let a = gateway(words, after: &i, "route gateway", log: &log) else { return nil }
                route.gateway = a
            case "dev", "oif":
                route.device = value.text
            case "scope":
                guard let s = log.choice(value, "'scope'", scopes) else { return nil }
                route.scope = s
            case "table":
                if let named = routeTables.first(where: { $0.0 == value.text }) {
                    route.table = named.1
                } else {
                    guard let t = log.integer(value, 1...Int(UInt32.max), "route table (a number, or main, local, default)") else { return nil }
                    route.table = UInt32(t)
                }
            case "protocol":
                if let named = routeProtocols.first(where: { $0.0 == value.text }) {
                    route.protocolNumber = named.1
                } else {
                    guard let n = log.integer(value, 0...255, "route protocol (a number, or a name of iproute2's rt_protos)") else { return nil }
                    route.protocolNumber = UInt8(n)
                }
            case "tos", "dsfield":
                guard let t = parseByte(value.text) else {
                    log.error(value.location, "route tos '\(value.text)' is not a number from 0 to 255 (decimal or 0x hex)")
                    return nil
                }
                route.tos = t
            default:  // metric, priority, preference
                guard let m = log.integer(value, 0...Int(UInt32.max), "route metric") else { return nil }
                route.metric = UInt32(m)
            }
            i += 2
        }
        if let orGateway {
            guard let second = log.address(orGateway, "route gateway after 'or'"), let first = route.gateway else { return nil }
            route.nextHops = [RouteNextHop(gateway: first, device: route.device), RouteNextHop(gateway: second, device: route.device)]
            route.gateway = nil
            route.device = nil
        }
        if !route.nextHops.isEmpty && (route.gateway != nil || (route.device != nil && orGateway == nil)) {
            log.error(entry.location, "a multipath route gives its gateways and devices in its 'nexthop' entries, not before them")
            return nil
        }
        if let destination {
            route.destination = destination
        } else {
            // No destination (seed 001: `via GW dev eth1`): the default route of the gateway's family.
            let f = family ?? route.gateway?.family ?? route.nextHops.first?.gateway?.family ?? route.source?.family ?? .ipv4
            route.destination = IPPrefix(address: f == .ipv4 ? .v4(IPv4Address(0)) : .v6(IPv6Address(high: 0, low: 0)), length: 0)
        }
        if route.type != .unicast && (route.gateway != nil || route.device != nil || !route.nextHops.isEmpty) {
            log.error(entry.location, "a \(route.type.rawValue) route has no gateway and no device (the kernel refuses them)")
            return nil
        }
        let gateways = [route.gateway].compactMap { $0 } + route.nextHops.compactMap(\.gateway)
        if let gateway = gateways.first(where: { $0.family != route.destination.address.family }) {
            log.error(entry.location, "route to \(route.destination) has an \(gateway.family.rawValue) gateway \(gateway)")
            return nil
        }
        return route
    }

    /// `nexthop [via [inet|inet6] G] [dev IF] [weight W] [onlink]` repeated to the end of the entry.
    private static func parseNextHops(_ words: [ConfigWord], from start: Int, log: inout DiagnosticLog) -> [RouteNextHop]? {
        var hops: [RouteNextHop] = []
        var i = start
        while i < words.count {
            guard words[i].text == "nexthop" else {
                log.error(words[i].location, "after 'nexthop' only next hops follow (via, dev, weight, onlink); put '\(words[i].text)' before the first 'nexthop'")
                return nil
            }
            let at = words[i]
            i += 1
            var hop = RouteNextHop()
            while i < words.count && words[i].text != "nexthop" {
                let word = words[i]
                if word.text == "onlink" {
                    hop.onlink = true
                    i += 1
                    continue
                }
                guard ["via", "dev", "weight"].contains(word.text) else {
                    if let reason = unsupportedOptions[word.text] {
                        log.error(word.location, "next hop option '\(word.text)' is not supported: \(reason)")
                    } else {
                        log.error(word.location, "unknown next hop option '\(word.text)'; expected via ADDR, dev IF, weight N or onlink")
                    }
                    return nil
                }
                guard i + 1 < words.count else {
                    log.error(word.location, "'\(word.text)' needs a value")
                    return nil
                }
                let value = words[i + 1]
                switch word.text {
                case "via":
                    guard let a = gateway(words, after: &i, "next hop gateway", log: &log) else { return nil }
                    hop.gateway = a
                case "dev":
                    hop.device = value.text
                default:
                    guard let w = log.integer(value, 1...256, "next hop weight") else { return nil }
                    hop.weight = w
                }
                i += 2
            }
            guard hop.gateway != nil || hop.device != nil else {
                log.error(at.location, "a 'nexthop' needs 'via ADDR' or 'dev IF'")
                return nil
            }
            hops.append(hop)
        }
        return hops
    }

    /// The address after `via` (at `i + 1`), past an optional `inet`/`inet6` (the address says its family);
    /// leaves `i` at the word before the address.
    private static func gateway(_ words: [ConfigWord], after i: inout Int, _ what: String, log: inout DiagnosticLog) -> IPAddress? {
        if words[i + 1].text == "inet" || words[i + 1].text == "inet6", i + 2 < words.count { i += 1 }
        return log.address(words[i + 1], what)
    }

    /// `KEYWORD [lock] VALUE`; rtt, rttvar and rto_min take a time (`200ms`, `1s`, or the kernel's raw unit).
    private static func parseMetric(_ words: [ConfigWord], at i: Int, kind: UInt16, lockable: Bool,
                                    log: inout DiagnosticLog) -> (RouteMetric, Int)? {
        let word = words[i]
        var j = i + 1
        var locked = false
        if lockable, j < words.count, words[j].text == "lock" {
            locked = true
            j += 1
        }
        guard j < words.count else {
            log.error(word.location, "'\(word.text)' needs a value")
            return nil
        }
        let value = words[j]
        let number: UInt32?
        switch word.text {
        case "features":
            number = value.text == "ecn" ? 1 : nil
            if number == nil { log.error(value.location, "route features '\(value.text)' is not known; expected ecn") }
        case "quickack", "fastopen_no_cookie":
            number = ["0", "1"].contains(value.text) ? UInt32(value.text) : nil
            if number == nil { log.error(value.location, "'\(word.text)' takes 0 or 1, not '\(value.text)'") }
        case "rtt", "rttvar", "rto_min":
            let perMillisecond: UInt32 = word.text == "rtt" ? 8 : word.text == "rttvar" ? 4 : 1
            number = parseTime(value.text, perMillisecond: perMillisecond)
            if number == nil { log.error(value.location, "'\(word.text)' takes a time such as 200ms or 1s, not '\(value.text)'") }
        default:
            number = log.integer(value, 0...Int(UInt32.max), "'\(word.text)'").map(UInt32.init)
        }
        guard let number else { return nil }
        return (RouteMetric(kind: kind, value: number, locked: locked), j + 1)
    }

    /// `N` (the kernel's unit), `Nms` or `Ns`.
    static func parseTime(_ text: String, perMillisecond: UInt32) -> UInt32? {
        let lower = text.lowercased()
        for (suffix, ms) in [("msecs", 1), ("msec", 1), ("ms", 1), ("secs", 1000), ("sec", 1000), ("s", 1000)] as [(String, UInt64)] {
            guard lower.hasSuffix(suffix), let n = UInt64(lower.dropLast(suffix.count)) else { continue }
            let (inMs, o1) = n.multipliedReportingOverflow(by: ms)
            let (v, o2) = inMs.multipliedReportingOverflow(by: UInt64(perMillisecond))
            return o1 || o2 || v > UInt64(UInt32.max) ? nil : UInt32(v)
        }
        return UInt32(lower)
    }

    static func parseByte(_ text: String) -> UInt8? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt8(text.dropFirst(2), radix: 16) }
        return UInt8(text)
    }
}
