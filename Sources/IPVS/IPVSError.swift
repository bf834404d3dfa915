import Glibc

/// Everything that can go wrong talking to IPVS, phrased for an operator.
public enum IPVSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The generic netlink family "IPVS" does not exist: the module is not loaded (or not built).
    case unavailable
    /// A C call failed before the kernel saw a request (socket, connect, send...).
    case system(call: String, errno: Int32)
    /// libnl reported an error (its own negative codes, described by nl_geterror).
    case libnl(call: String, code: Int32, message: String)
    /// The kernel rejected a request with an errno (and possibly an extended-ack message).
    case kernel(IPVSOperationKind, errno: Int32, subject: String, detail: String?)
    /// The kernel's reply could not be decoded.
    case malformed(String)
    /// A batch in which some operations failed; each failure is listed in request order.
    case batch([IPVSOperationFailure])

    public var description: String {
        switch self {
        case .unavailable:
            return "IPVS is not available in this kernel: load it with `modprobe ip_vs`"
        case .system(let call, let code):
            if code == EPERM || code == EACCES {
                return "\(call): permission denied: IPVS needs root (CAP_NET_ADMIN)"
            }
            return "\(call): \(String(cString: strerror(code)))"
        case .libnl(let call, _, let message):
            return "\(call): \(message)"
        case .kernel(let kind, let code, let subject, let detail):
            var text = IPVSError.explain(kind, errno: code, subject: subject)
            if let detail, !detail.isEmpty { text += " (\(detail))" }
            return text
        case .malformed(let what):
            return "unexpected reply from the kernel: \(what)"
        case .batch(let failures):
            return failures.map(\.description).joined(separator: "\n")
        }
    }

    /// The errno of a kernel rejection, if that is what this is.
    public var kernelErrno: Int32? {
        if case .kernel(_, let code, _, _) = self { return code }
        return nil
    }

    /// Maps the errnos ip_vs_ctl.c returns for each command to what they mean there.
    static func explain(_ kind: IPVSOperationKind, errno code: Int32, subject: String) -> String {
        switch (kind, code) {
        case (_, EPERM), (_, EACCES):
            return "permission denied: changing or reading IPVS needs root (CAP_NET_ADMIN)"
        case (.addService, EEXIST):
            return "virtual service \(subject) already exists"
        case (.addService, ENOENT), (.updateService, ENOENT):
            return "\(subject) not available"
        case (.updateService, ESRCH), (.deleteService, ESRCH), (.getService, ESRCH), (.zero, ESRCH),
            (.listDestinations, ESRCH):
            return "virtual service \(subject) not found"
        case (.addDestination, ESRCH), (.updateDestination, ESRCH), (.deleteDestination, ESRCH):
            return "virtual service for \(subject) not found"
        case (.addDestination, EEXIST):
            return "real server \(subject) already exists"
        case (.updateDestination, ENOENT), (.deleteDestination, ENOENT):
            return "real server \(subject) not found"
        case (.addDestination, ERANGE), (.updateDestination, ERANGE):
            return "\(subject): the lower threshold is above the upper threshold"
        case (.startDaemon, EEXIST):
            return "\(subject) sync daemon is already running"
        case (.stopDaemon, ESRCH):
            return "no \(subject) sync daemon is running"
        case (_, EINVAL):
            return "the kernel rejected \(subject) as invalid (EINVAL)"
        case (_, EAFNOSUPPORT):
            return "\(subject): address family not supported by this IPVS"
        case (_, EOPNOTSUPP):
            return "\(subject): operation not supported by this IPVS"
        default:
            return "\(subject): \(String(cString: strerror(code)))"
        }
    }
}
