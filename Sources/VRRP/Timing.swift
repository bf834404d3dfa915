/// The protocol timers' lengths, per version.
public enum VRRPTiming {
    /// Skew_Time: v2 (RFC 3768 §6.1) is (256 - priority)/256 s whatever the interval; v3 (RFC 5798 §6.1) scales
    /// with the master's advert interval: ((256 - priority) * Master_Adver_Interval)/256.
    public static func skewTime(
        version: VRRPVersion, priority: UInt8, masterAdvertIntervalCentiseconds: UInt16
    ) -> Duration {
        let weight = Int64(256 - Int(priority))
        switch version {
        case .v2:
            return .nanoseconds(weight * 1_000_000_000 / 256)
        case .v3:
            return .nanoseconds(weight * Int64(masterAdvertIntervalCentiseconds) * 10_000_000 / 256)
        }
    }

    /// Master_Down_Interval: `downTimerAdverts` (3 in the RFCs, keepalived's `down_timer_adverts`) advert
    /// intervals plus the skew time.
    public static func masterDownInterval(
        version: VRRPVersion, priority: UInt8, masterAdvertIntervalCentiseconds: UInt16, downTimerAdverts: Int = 3
    ) -> Duration {
        centiseconds(masterAdvertIntervalCentiseconds) * downTimerAdverts
            + skewTime(
                version: version, priority: priority,
                masterAdvertIntervalCentiseconds: masterAdvertIntervalCentiseconds)
    }

    /// A centisecond count as a Duration.
    public static func centiseconds(_ value: UInt16) -> Duration {
        .milliseconds(Int64(value) * 10)
    }
}
