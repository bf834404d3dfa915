import Timeline
import DirectorConfig

/// One vrrp_track_process's status from the counts of matching processes, with keepalived's fork_delay (quorum
/// gained must hold that long) and terminate_delay (quorum lost must last that long). Pure: fed a count and an
/// instant at each scan of /proc.
struct ProcessQuorum {
    let spec: TrackProcess
    /// nil until the first scan, which sets it at once (keepalived counts the running processes at start).
    private(set) var up: Bool?
    private var changingSince: Moment?

    init(_ spec: TrackProcess) { self.spec = spec }

    func inQuorum(_ count: Int) -> Bool { count >= spec.quorum && count <= spec.quorumMax }

    /// The new status when it changes, else nil.
    mutating func observe(count: Int, now: Moment) -> Bool? {
        let raw = inQuorum(count)
        guard let current = up else {
            up = raw
            return raw
        }
        guard raw != current else {
            changingSince = nil
            return nil
        }
        let delay = raw ? spec.forkDelay : spec.terminateDelay
        let since = changingSince ?? now
        guard now - since >= delay else {
            changingSince = since
            return nil
        }
        up = raw
        changingSince = nil
        return raw
    }
}
