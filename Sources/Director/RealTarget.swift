import DirectorConfig

/// What `directorctl drain`, `undrain` and `weight` name, resolved against the running configuration: the text
/// forms operators type (`192.0.2.1:80`, `udp:192.0.2.1:53`, `fwmark:7`, `[2001:db8::1]:80`) to the virtual
/// servers and reals they mean. Pure; an unknown name is an error that lists what exists.
enum RealTarget {
    struct Selected: Hashable {
        var virtualServer: VirtualServer
        var real: RealServer
    }

    struct Failure: Error, Equatable, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// How directorctl writes a virtual server: the inverse of `parseVirtual`.
    static func name(of vs: VirtualServer) -> String {
        switch vs.key {
        case .endpoint(let e): vs.protocolType == .tcp ? "\(e)" : "\(vs.protocolType.rawValue.lowercased()):\(e)"
        case .fwmark(let mark): "fwmark:\(mark)"
        case .group(let name): vs.protocolType == .tcp ? "group:\(name)" : "\(vs.protocolType.rawValue.lowercased()):group:\(name)"
        }
    }

    /// `ADDR:PORT`, `[ADDR]:PORT`.
    static func parseEndpoint(_ text: String) -> Result<Endpoint, Failure> {
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return .failure(Failure("'\(text)': an IPv6 real is written [ADDR]:PORT"))
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                return .failure(Failure("'\(text)': expected ADDR:PORT (an IPv6 address is written [ADDR]:PORT)"))
            }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard let number = UInt16(port) else { return .failure(Failure("'\(text)': '\(port)' is not a port (0-65535)")) }
        switch IPAddress.parse(String(host)) {
        case .success(let address): return .success(Endpoint(address: address, port: number))
        case .failure(let error): return .failure(Failure("'\(text)': \(error.message)"))
        }
    }

    /// Whether `vs` is the virtual server `text` names.
    static func matches(_ text: String, _ vs: VirtualServer) -> Result<Bool, Failure> {
        var rest = Substring(text)
        var proto = TransportProtocol.tcp
        for candidate in [TransportProtocol.tcp, .udp, .sctp] where rest.lowercased().hasPrefix(candidate.rawValue.lowercased() + ":") {
            proto = candidate
            rest = rest.dropFirst(candidate.rawValue.count + 1)
        }
        if rest.hasPrefix("fwmark:") {
            guard let mark = UInt32(rest.dropFirst("fwmark:".count)) else {
                return .failure(Failure("'\(text)': expected fwmark:N with N a number"))
            }
            if case .fwmark(let m) = vs.key { return .success(m == mark) }
            return .success(false)
        }
        if rest.hasPrefix("group:") {
            let group = String(rest.dropFirst("group:".count))
            if case .group(let g) = vs.key { return .success(g == group && vs.protocolType == proto) }
            return .success(false)
        }
        return parseEndpoint(String(rest)).map { endpoint in
            if case .endpoint(let e) = vs.key { e == endpoint && vs.protocolType == proto } else { false }
        }
    }

    /// The (virtual server, real) pairs a request names; `virtual` nil means every virtual server the real is in.
    static func resolve(virtual: String?, real: String, in configuration: Configuration) -> Result<[Selected], Failure> {
        let endpoint: Endpoint
        switch parseEndpoint(real) {
        case .success(let e): endpoint = e
        case .failure(let failure): return .failure(failure)
        }
        guard let virtual else {
            let selected = configuration.virtualServers.compactMap { vs in
                vs.realServers.first { $0.endpoint == endpoint }.map { Selected(virtualServer: vs, real: $0) }
            }
            guard !selected.isEmpty else {
                let all = Set(configuration.virtualServers.flatMap { $0.realServers.map(\.endpoint) }).sorted()
                return .failure(Failure("real \(endpoint) is in no virtual server; the configured reals are: \(list(all.map(\.description)))"))
            }
            return .success(selected)
        }
        var servers: [VirtualServer] = []
        for vs in configuration.virtualServers {
            switch matches(virtual, vs) {
            case .success(true): servers.append(vs)
            case .success(false): continue
            case .failure(let failure): return .failure(failure)
            }
        }
        guard !servers.isEmpty else {
            return .failure(Failure("no virtual server \(virtual); the configured ones are: \(list(configuration.virtualServers.map(name)))"))
        }
        let selected = servers.compactMap { vs in
            vs.realServers.first { $0.endpoint == endpoint }.map { Selected(virtualServer: vs, real: $0) }
        }
        guard !selected.isEmpty else {
            let reals = servers.flatMap { $0.realServers.map(\.endpoint.description) }
            return .failure(Failure("real \(endpoint) is not in virtual server \(virtual); its reals are: \(list(reals))"))
        }
        return .success(selected)
    }

    /// At most 20 names, then how many more: an error line stays readable with 5000 reals.
    static func list(_ names: [String]) -> String {
        guard !names.isEmpty else { return "none" }
        let shown = names.prefix(20).joined(separator: ", ")
        return names.count > 20 ? "\(shown) and \(names.count - 20) more" : shown
    }
}
