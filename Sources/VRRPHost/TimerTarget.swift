import Reactor
import VRRP

/// What a timer is for.
enum TimerTarget: Hashable {
    /// A VRRP timer of one running instance (identified by its runtime id, which a reload never reuses).
    case instance(id: Int, VRRP.VRRPInstance.TimerKind)
    /// The next run of a vrrp_script (generation guards against a script replaced by a reload).
    case script(name: String, generation: Int)
    /// Read tracked interfaces' link state.
    case linkPoll
}


/// The core's timers: what each is for, by absolute deadline (the reactor's heap type).
typealias TimerHeap = Deadlines<Moment, TimerTarget>
