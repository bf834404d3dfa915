import Timeline
import Addresses

/// One VRRP instance's state machine (RFC 3768 §6.4 / RFC 5798 §6.4 with keepalived's extensions), pure.
///
/// Wiring: the daemon owns one value per `vrrp_instance`, calls `handle(_:now:)` with `Moment.now` for
/// every event and performs the returned actions in order: `.armTimer` means "(re)schedule this kind at this
/// absolute deadline", replacing any earlier one; `.timerFired(kind)` is fed back when it expires. A timer that
/// fires late or after being re-armed is recognised and ignored, so cancellation races are harmless. Adverts are
/// built with `Advertisement.with(priority:)`; `.addVirtualAddresses`/`.removeVirtualAddresses` cover the
/// instance's virtual_ipaddress, _excluded and virtual_routes; `.sendGratuitous(count:)` means one burst of
/// `count` GARPs per IPv4 VIP and unsolicited NAs per IPv6 VIP. Members of a sync group: after every `handle`,
/// pass `memberStatus` to `SyncGroupPolicy.update` and feed its directives back as `.syncGroup`.
public struct VRRPInstance: Sendable {
    /// The states of RFC 5798 §6.4 plus keepalived's FAULT.
    public enum State: String, Sendable, Hashable {
        case initialize = "INIT"
        case backup = "BACKUP"
        case master = "MASTER"
        case fault = "FAULT"
    }

    /// keepalived's `state`: the initial wish, still subject to election (only an owner starts as MASTER).
    public enum InitialState: String, Sendable, Hashable {
        case master = "MASTER"
        case backup = "BACKUP"
    }

    /// The timers an instance runs; at most one of each kind is armed.
    public enum TimerKind: String, Sendable, Hashable, CaseIterable {
        /// Adver_Timer: MASTER sends an advert when it fires.
        case advert
        /// Master_Down_Timer: BACKUP takes over when it fires.
        case masterDown
        /// The second burst of GARPs after becoming MASTER (garp_master_delay) or after a lower-priority advert.
        case garpDelay
        /// Periodic GARPs while MASTER (garp_master_refresh).
        case garpRefresh
    }

    /// What the IPVS connection-sync daemon should run (when this instance controls it).
    public enum SyncDaemonRole: String, Sendable, Hashable {
        /// Start the master daemon, stop the backup one.
        case master
        /// Start the backup daemon, stop the master one.
        case backup
        /// Stop both (shutdown).
        case stopped
    }

    /// Group-level commands a `SyncGroupPolicy` sends to a member.
    public enum SyncDirective: Sendable, Hashable {
        /// Every member can be MASTER: go.
        case becomeMaster
        /// A sibling fell back to BACKUP: follow it.
        case becomeBackup
        /// A sibling is in FAULT: follow it until `clearFault`.
        case becomeFault
        /// The sibling's fault is over.
        case clearFault
    }

    /// The facts of an accepted advertisement that the state machine uses.
    public struct PeerAdvert: Sendable, Hashable {
        /// Sender priority (0 = master resigning).
        public var priority: UInt8
        /// Sender's IP source address (tie-break on equal priority).
        public var source: IPAddress
        /// Sender's advert interval; v3 backups adopt it.
        public var advertIntervalCentiseconds: UInt16

        public init(priority: UInt8, source: IPAddress, advertIntervalCentiseconds: UInt16) {
            self.priority = priority
            self.source = source
            self.advertIntervalCentiseconds = advertIntervalCentiseconds
        }

        /// From a decoded advertisement that passed `AdvertisementFilter`.
        public init(_ received: ReceivedAdvertisement) {
            self.init(
                priority: received.advertisement.priority, source: received.source,
                advertIntervalCentiseconds: received.advertisement.advertIntervalCentiseconds)
        }
    }

    /// Inputs.
    public enum Event: Sendable, Hashable {
        /// Begin (INIT → BACKUP, FAULT, or MASTER for an owner configured `state MASTER`).
        case start
        /// An advertisement that passed the filter.
        case advertReceived(PeerAdvert)
        /// A timer armed by an earlier action expired.
        case timerFired(TimerKind)
        /// Tracked objects changed; may be sent before `start` to set the initial picture.
        case trackingChanged(TrackingSummary)
        /// A command from this instance's sync group.
        case syncGroup(SyncDirective)
        /// Stop: a MASTER resigns with priority 0 so the backup takes over after its skew time.
        case shutdown
        /// Removed by a reload: as `shutdown`, but notified as keepalived notifies a deleted instance (DELETED with
        /// notify_deleted, else FAULT unless it was in FAULT already), not STOP.
        case delete
    }

    /// Outputs, to be performed in order.
    public enum Action: Sendable, Hashable {
        /// Log line material: the state changed.
        case stateChanged(from: State, to: State)
        /// Send one advertisement with this priority.
        case sendAdvert(priority: UInt8)
        /// Schedule (or reschedule) a timer at an absolute deadline.
        case armTimer(TimerKind, deadline: Moment)
        /// Drop a scheduled timer.
        case cancelTimer(TimerKind)
        /// Configure the virtual addresses and routes.
        case addVirtualAddresses
        /// Remove the virtual addresses and routes (only those directord manages).
        case removeVirtualAddresses
        /// One burst of gratuitous ARPs / unsolicited NAs, `count` per address.
        case sendGratuitous(count: Int)
        /// Run the notify scripts.
        case notify(NotifyEvent)
        /// Switch the IPVS sync daemon (only for the instance that controls it).
        case switchSyncDaemon(SyncDaemonRole)
        /// A MASTER heard a lower priority (keepalived's notify_master_rx_lower_pri); only when configured.
        case masterReceivedLowerPriority
    }

    /// keepalived's garp_* settings.
    public struct GratuitousPolicy: Sendable, Hashable {
        /// garp_master_delay: second burst after becoming MASTER; zero for none.
        public var masterDelay: Duration
        /// garp_master_repeat: messages per address per burst.
        public var masterRepeat: Int
        /// garp_lower_prio_delay: second burst after a lower-priority advert; zero for none.
        public var lowerPriorityDelay: Duration
        /// garp_lower_prio_repeat: burst size when a lower-priority advert arrives while MASTER; 0 for none.
        public var lowerPriorityRepeat: Int
        /// garp_master_refresh: periodic burst while MASTER; zero for none.
        public var refreshInterval: Duration
        /// garp_master_refresh_repeat.
        public var refreshRepeat: Int

        /// keepalived's defaults: 5 messages, again 5 s later, no refresh.
        public init(
            masterDelay: Duration = .seconds(5), masterRepeat: Int = 5, lowerPriorityDelay: Duration? = nil,
            lowerPriorityRepeat: Int? = nil, refreshInterval: Duration = .zero, refreshRepeat: Int = 1
        ) {
            self.masterDelay = masterDelay
            self.masterRepeat = masterRepeat
            self.lowerPriorityDelay = lowerPriorityDelay ?? masterDelay
            self.lowerPriorityRepeat = lowerPriorityRepeat ?? masterRepeat
            self.refreshInterval = refreshInterval
            self.refreshRepeat = refreshRepeat
        }
    }

    /// What the state machine needs from a `vrrp_instance` block.
    public struct Configuration: Sendable, Hashable {
        /// vrrp_instance name (notify argument, logs).
        public var name: String
        /// 2 or 3.
        public var version: VRRPVersion
        /// Configured priority, 1...255 (255 = address owner).
        public var priority: UInt8
        /// advert_int in centiseconds (v2: whole seconds only).
        public var advertIntervalCentiseconds: UInt16
        /// Our source address in adverts; compared with the peer's on equal priority.
        public var primaryAddress: IPAddress
        /// `state`.
        public var initialState: InitialState
        /// false for `nopreempt`.
        public var preempt: Bool
        /// preempt_delay, 0...1000 s.
        public var preemptDelay: Duration
        /// down_timer_adverts, 1...100.
        public var downTimerAdverts: Int
        /// lower_prio_no_advert: don't answer a lower-priority advert with one of ours.
        public var lowerPriorityNoAdvert: Bool
        /// higher_prio_send_advert: send one more advert before yielding to a higher priority.
        public var higherPrioritySendAdvert: Bool
        /// GARP / NA scheduling.
        public var gratuitous: GratuitousPolicy
        /// Member of a vrrp_sync_group: becoming MASTER waits for the group.
        public var inSyncGroup: Bool
        /// This instance drives the IPVS sync daemon (lvs_sync_daemon names it).
        public var controlsSyncDaemon: Bool
        /// Emit `.masterReceivedLowerPriority` (a notify_master_rx_lower_pri script is configured).
        public var reportsLowerPriority = false
        /// notify_deleted: a `.delete` is notified as DELETED rather than FAULT.
        public var notifyDeleted = false

        public init(
            name: String, version: VRRPVersion, priority: UInt8, advertIntervalCentiseconds: UInt16 = 100,
            primaryAddress: IPAddress, initialState: InitialState = .backup, preempt: Bool = true,
            preemptDelay: Duration = .zero, downTimerAdverts: Int = 3, lowerPriorityNoAdvert: Bool = false,
            higherPrioritySendAdvert: Bool = false, gratuitous: GratuitousPolicy = GratuitousPolicy(),
            inSyncGroup: Bool = false, controlsSyncDaemon: Bool = false
        ) {
            self.name = name
            self.version = version
            self.priority = priority
            self.advertIntervalCentiseconds = advertIntervalCentiseconds
            self.primaryAddress = primaryAddress
            self.initialState = initialState
            self.preempt = preempt
            self.preemptDelay = preemptDelay
            self.downTimerAdverts = downTimerAdverts
            self.lowerPriorityNoAdvert = lowerPriorityNoAdvert
            self.higherPrioritySendAdvert = higherPrioritySendAdvert
            self.gratuitous = gratuitous
            self.inSyncGroup = inSyncGroup
            self.controlsSyncDaemon = controlsSyncDaemon
        }
    }

    /// A configuration the state machine cannot run.
    public enum ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
        case priorityZero(instance: String)
        case intervalOutOfRange(instance: String, centiseconds: UInt16)
        case preemptDelayOutOfRange(instance: String)
        case downTimerAdvertsOutOfRange(instance: String, value: Int)
        case negativeGratuitousSetting(instance: String)

        public var description: String {
            switch self {
            case .priorityZero(let name):
                return "vrrp_instance \(name): priority must be 1..255 (0 is reserved for resigning)"
            case .intervalOutOfRange(let name, let cs):
                return "vrrp_instance \(name): advert_int \(Double(cs) / 100) s is out of range for its version"
            case .preemptDelayOutOfRange(let name):
                return "vrrp_instance \(name): preempt_delay must be 0..1000 s"
            case .downTimerAdvertsOutOfRange(let name, let value):
                return "vrrp_instance \(name): down_timer_adverts \(value) must be 1..100"
            case .negativeGratuitousSetting(let name):
                return "vrrp_instance \(name): garp delays and repeats cannot be negative"
            }
        }
    }

    /// The configuration, as given.
    public let configuration: Configuration
    /// Current state.
    public internal(set) var state: State = .initialize
    /// Base priority adjusted by tracking (keepalived's effective_priority).
    public internal(set) var effectivePriority: UInt8
    /// Master_Adver_Interval: our own interval, or in v3 the one learned from the current master.
    public internal(set) var masterAdvertIntervalCentiseconds: UInt16
    /// Source of the last accepted advert from a master (status display).
    public internal(set) var masterAddress: IPAddress?
    /// In a sync group: the master-down timer expired (or we own the addresses) and we wait for the group.
    public internal(set) var wantsMaster = false
    /// Armed timers and their deadlines.
    public internal(set) var deadlines: [TimerKind: Moment] = [:]
    /// keepalived's vrrp_startup_delay: before this instant a master-down timer runs from it rather than from now,
    /// so no BACKUP (not even an address owner) takes over until the delay is over. Set before `.start`.
    public var startupHold: Moment?

    var tracking = TrackingSummary()
    var groupFault = false
    // keepalived's preempt_time: until then a lower-priority master is still obeyed.
    var preemptDeadline: Moment?
    var pendingGratuitousCount = 0
    var lastSyncDaemonRole: SyncDaemonRole?
    var output: [Action] = []

    /// Validates the configuration; the instance starts in INIT.
    public init(_ configuration: Configuration) throws(ConfigurationError) {
        let name = configuration.name
        guard configuration.priority != 0 else { throw .priorityZero(instance: name) }
        let cs = configuration.advertIntervalCentiseconds
        switch configuration.version {
        case .v2:
            guard cs % 100 == 0, (1...255).contains(cs / 100) else {
                throw .intervalOutOfRange(instance: name, centiseconds: cs)
            }
        case .v3:
            guard (1...0x0FFF).contains(cs) else { throw .intervalOutOfRange(instance: name, centiseconds: cs) }
        }
        guard configuration.preemptDelay >= .zero, configuration.preemptDelay <= .seconds(1000) else {
            throw .preemptDelayOutOfRange(instance: name)
        }
        guard (1...100).contains(configuration.downTimerAdverts) else {
            throw .downTimerAdvertsOutOfRange(instance: name, value: configuration.downTimerAdverts)
        }
        let g = configuration.gratuitous
        guard g.masterRepeat >= 0, g.lowerPriorityRepeat >= 0, g.refreshRepeat >= 0, g.masterDelay >= .zero,
            g.lowerPriorityDelay >= .zero, g.refreshInterval >= .zero
        else { throw .negativeGratuitousSetting(instance: name) }
        self.configuration = configuration
        self.effectivePriority = configuration.priority
        self.masterAdvertIntervalCentiseconds = cs
    }

    /// Priority 255: owns the virtual addresses.
    public var isAddressOwner: Bool { configuration.priority == 255 }

    /// keepalived clears nopreempt and preempt_delay when `state MASTER` is configured.
    public var preemptEffective: Bool { configuration.preempt || configuration.initialState == .master }

    /// The preempt delay actually applied (see `preemptEffective`).
    public var preemptDelayEffective: Duration {
        configuration.initialState == .master || !configuration.preempt ? .zero : configuration.preemptDelay
    }

    /// Skew_Time for the current priority and master interval.
    public var skewTime: Duration {
        VRRPTiming.skewTime(
            version: configuration.version, priority: effectivePriority,
            masterAdvertIntervalCentiseconds: masterAdvertIntervalCentiseconds)
    }

    /// Master_Down_Interval for the current priority and master interval.
    public var masterDownInterval: Duration {
        VRRPTiming.masterDownInterval(
            version: configuration.version, priority: effectivePriority,
            masterAdvertIntervalCentiseconds: masterAdvertIntervalCentiseconds,
            downTimerAdverts: configuration.downTimerAdverts)
    }

    /// Our own Advertisement_Interval.
    public var advertInterval: Duration { VRRPTiming.centiseconds(configuration.advertIntervalCentiseconds) }

    /// In FAULT because of our own tracked objects (not only following the group).
    public var ownFault: Bool { tracking.faulted }

    /// What a sync group needs to know about this member.
    public var memberStatus: SyncGroupPolicy.MemberStatus {
        SyncGroupPolicy.MemberStatus(state: state, wantsMaster: wantsMaster, ownFault: tracking.faulted)
    }
}
