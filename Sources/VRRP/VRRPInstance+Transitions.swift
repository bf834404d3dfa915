import Timeline
extension VRRPInstance {
    /// Applies one event at `now` and returns the actions to perform, in order.
    public mutating func handle(_ event: Event, now: Moment) -> [Action] {
        output = []
        switch event {
        case .start:
            if state == .initialize { start(now: now) }
        case .advertReceived(let advert):
            receive(advert, now: now)
        case .timerFired(let kind):
            // Stale expiries (cancelled or re-armed since) are ignored: only an armed, due deadline counts.
            guard let deadline = deadlines[kind], now >= deadline else { break }
            deadlines[kind] = nil
            fire(kind, deadline: deadline, now: now)
        case .trackingChanged(let summary):
            trackingChanged(summary, now: now)
        case .syncGroup(let directive):
            follow(directive, now: now)
        case .shutdown:
            if stop() != nil { notify(.stop) }
        case .delete:
            // keepalived's clear_diff_vrrp: DELETED with notify_deleted; else FAULT, unless already in FAULT.
            if let previous = stop() {
                if configuration.notifyDeleted {
                    notify(.deleted)
                } else if previous != .fault {
                    notify(.fault)
                }
            }
        }
        let result = output
        output = []
        return result
    }

    // MARK: - Events

    private mutating func start(now: Moment) {
        // keepalived removes leftover VIPs (e.g. after a SIGKILL) before entering BACKUP.
        emit(.removeVirtualAddresses)
        if tracking.faulted || groupFault {
            enterFault()
        } else if isAddressOwner && configuration.initialState == .master, let hold = startupHold, now < hold {
            // keepalived's delayed start: the owner times out of BACKUP at once, but only when the delay ends.
            enterBackup(now: now, masterDownAfter: .zero)
        } else if isAddressOwner && configuration.initialState == .master {
            // Only an owner configured `state MASTER` skips the wait (keepalived; an owner with `state BACKUP`
            // waits the master-down interval like anyone else).
            ownerOrElection(now: now)
        } else {
            let delay = preemptDelayEffective
            if delay > .zero { preemptDeadline = now + delay }
            enterBackup(now: now, masterDownAfter: masterDownInterval + delay)
        }
    }

    private mutating func receive(_ advert: PeerAdvert, now: Moment) {
        // Our own multicast looped back must not look like a peer.
        guard advert.source != configuration.primaryAddress else { return }
        switch state {
        case .backup:
            if advert.priority == 0 {
                // RFC 5798 §6.4.2: the master resigned; take over after Skew_Time, not a full down interval.
                if !wantsMaster { armMasterDown(now: now, after: skewTime) }
                return
            }
            if preemptEffective && advert.priority < effectivePriority {
                // Lower-priority master: preempt (let the down timer run out), unless preempt_delay holds us.
                let deadline = preemptDeadline ?? (now + preemptDelayEffective)
                preemptDeadline = deadline
                guard now < deadline else { return }
            } else {
                preemptDeadline = nil
            }
            accept(advert)
            wantsMaster = false
            armMasterDown(now: now, after: masterDownInterval)
        case .master:
            if advert.priority == 0 {
                // A resigning peer (split brain ending): assert ourselves at once.
                emit(.sendAdvert(priority: effectivePriority))
                arm(.advert, at: now + advertInterval)
            } else if advert.priority > effectivePriority
                || (advert.priority == effectivePriority && advert.source > configuration.primaryAddress)
            {
                if configuration.higherPrioritySendAdvert { emit(.sendAdvert(priority: effectivePriority)) }
                accept(advert)
                leaveMaster(resign: false)
                enterBackup(now: now, masterDownAfter: masterDownInterval)
            } else {
                // keepalived answers a lower priority at once (unless lower_prio_no_advert) and re-announces.
                if !configuration.lowerPriorityNoAdvert { emit(.sendAdvert(priority: effectivePriority)) }
                if configuration.reportsLowerPriority { emit(.masterReceivedLowerPriority) }
                let g = configuration.gratuitous
                if g.lowerPriorityRepeat > 0 {
                    emit(.sendGratuitous(count: g.lowerPriorityRepeat))
                    if g.lowerPriorityDelay > .zero {
                        pendingGratuitousCount = g.lowerPriorityRepeat
                        arm(.garpDelay, at: now + g.lowerPriorityDelay)
                    }
                }
            }
        case .initialize, .fault:
            return
        }
    }

    private mutating func fire(_ kind: TimerKind, deadline: Moment, now: Moment) {
        switch (kind, state) {
        case (.advert, .master):
            emit(.sendAdvert(priority: effectivePriority))
            // Next deadline from the previous one, so a late wake-up does not make every later advert late.
            var next = deadline + advertInterval
            if next <= now { next = now + advertInterval }
            arm(.advert, at: next)
        case (.masterDown, .backup):
            if configuration.inSyncGroup {
                wantsMaster = true
            } else {
                becomeMaster(now: now)
            }
        case (.garpDelay, .master):
            emit(.sendGratuitous(count: pendingGratuitousCount))
        case (.garpRefresh, .master):
            let g = configuration.gratuitous
            if g.refreshRepeat > 0 { emit(.sendGratuitous(count: g.refreshRepeat)) }
            arm(.garpRefresh, at: now + g.refreshInterval)
        default:
            break
        }
    }

    private mutating func trackingChanged(_ summary: TrackingSummary, now: Moment) {
        tracking = summary
        // A new priority shows in the next advert and the next timer computation (keepalived does the same).
        effectivePriority = summary.effectivePriority(base: configuration.priority)
        switch state {
        case .backup, .master:
            if summary.faulted {
                if state == .master { leaveMaster(resign: true) }
                enterFault()
            }
        case .fault:
            if !summary.faulted && !groupFault { leaveFault(now: now) }
        case .initialize:
            break
        }
    }

    private mutating func follow(_ directive: SyncDirective, now: Moment) {
        switch directive {
        case .becomeMaster:
            if state == .backup { becomeMaster(now: now) }
        case .becomeBackup:
            if state == .master {
                leaveMaster(resign: false)
                enterBackup(now: now, masterDownAfter: masterDownInterval)
            } else if state == .backup && wantsMaster {
                // keepalived restarts the down timer of members that wanted MASTER but were outvoted.
                wantsMaster = false
                armMasterDown(now: now, after: masterDownInterval)
            }
        case .becomeFault:
            groupFault = true
            switch state {
            case .master:
                leaveMaster(resign: true)
                enterFault()
            case .backup:
                enterFault()
            case .initialize, .fault:
                break
            }
        case .clearFault:
            groupFault = false
            if state == .fault && !tracking.faulted { leaveFault(now: now) }
        }
    }

    /// Back to INIT: a MASTER resigns, timers go, the sync daemon stops. The state it left, nil if it was in INIT.
    private mutating func stop() -> State? {
        let previous = state
        switch state {
        case .initialize:
            return nil
        case .master:
            leaveMaster(resign: true)
        case .backup, .fault:
            cancelAllTimers()
        }
        state = .initialize
        wantsMaster = false
        groupFault = false
        preemptDeadline = nil
        masterAddress = nil
        masterAdvertIntervalCentiseconds = configuration.advertIntervalCentiseconds
        emit(.stateChanged(from: previous, to: .initialize))
        switchSyncDaemon(.stopped)
        return previous
    }

    // MARK: - Transitions

    /// An owner (or an instance back from FAULT that owns the addresses) goes straight to MASTER, via the group.
    private mutating func ownerOrElection(now: Moment) {
        if configuration.inSyncGroup {
            enterBackup(now: now, masterDownAfter: nil)
            wantsMaster = true
        } else {
            becomeMaster(now: now)
        }
    }

    private mutating func leaveFault(now: Moment) {
        if isAddressOwner && configuration.initialState == .master {
            ownerOrElection(now: now)
        } else {
            enterBackup(now: now, masterDownAfter: masterDownInterval)
        }
    }

    private mutating func becomeMaster(now: Moment) {
        let previous = state
        state = .master
        wantsMaster = false
        preemptDeadline = nil
        masterAddress = configuration.primaryAddress
        // Our adverts carry our interval; a v3 master no longer follows a learned one.
        masterAdvertIntervalCentiseconds = configuration.advertIntervalCentiseconds
        emit(.stateChanged(from: previous, to: .master))
        cancel(.masterDown)
        emit(.sendAdvert(priority: effectivePriority))
        arm(.advert, at: now + advertInterval)
        emit(.addVirtualAddresses)
        let g = configuration.gratuitous
        if g.masterRepeat > 0 {
            emit(.sendGratuitous(count: g.masterRepeat))
            if g.masterDelay > .zero {
                pendingGratuitousCount = g.masterRepeat
                arm(.garpDelay, at: now + g.masterDelay)
            }
        }
        if g.refreshInterval > .zero { arm(.garpRefresh, at: now + g.refreshInterval) }
        switchSyncDaemon(.master)
        notify(.master)
    }

    /// Stops MASTER duties; `resign` sends priority 0 (shutdown, fault) so backups wait only Skew_Time.
    private mutating func leaveMaster(resign: Bool) {
        cancel(.advert)
        cancel(.garpDelay)
        cancel(.garpRefresh)
        if resign { emit(.sendAdvert(priority: 0)) }
        emit(.removeVirtualAddresses)
    }

    /// `masterDownAfter` nil: no down timer (waiting for the sync group).
    private mutating func enterBackup(now: Moment, masterDownAfter: Duration?) {
        let previous = state
        state = .backup
        emit(.stateChanged(from: previous, to: .backup))
        if let masterDownAfter { armMasterDown(now: now, after: masterDownAfter) }
        switchSyncDaemon(.backup)
        notify(.backup)
    }

    private mutating func enterFault() {
        let previous = state
        cancelAllTimers()
        state = .fault
        wantsMaster = false
        preemptDeadline = nil
        masterAddress = nil
        // Whoever is master after the fault will be learned afresh.
        masterAdvertIntervalCentiseconds = configuration.advertIntervalCentiseconds
        emit(.stateChanged(from: previous, to: .fault))
        switchSyncDaemon(.backup)
        notify(.fault)
    }

    private mutating func accept(_ advert: PeerAdvert) {
        masterAddress = advert.source
        // RFC 5798 §6.4.2: a v3 backup adopts the master's interval; v2 dropped any mismatch in the filter.
        if configuration.version == .v3 { masterAdvertIntervalCentiseconds = advert.advertIntervalCentiseconds }
    }

    // MARK: - Output helpers

    private mutating func emit(_ action: Action) {
        output.append(action)
    }

    private mutating func arm(_ kind: TimerKind, at deadline: Moment) {
        deadlines[kind] = deadline
        emit(.armTimer(kind, deadline: deadline))
    }

    /// The master-down timer, `after` from now, or from the end of the startup hold while it lasts.
    private mutating func armMasterDown(now: Moment, after: Duration) {
        if let hold = startupHold, now < hold {
            arm(.masterDown, at: hold + after)
        } else {
            arm(.masterDown, at: now + after)
        }
    }

    private mutating func cancel(_ kind: TimerKind) {
        guard deadlines.removeValue(forKey: kind) != nil else { return }
        emit(.cancelTimer(kind))
    }

    private mutating func cancelAllTimers() {
        for kind in TimerKind.allCases { cancel(kind) }
    }

    private mutating func switchSyncDaemon(_ role: SyncDaemonRole) {
        guard configuration.controlsSyncDaemon, lastSyncDaemonRole != role else { return }
        lastSyncDaemonRole = role
        emit(.switchSyncDaemon(role))
    }

    private mutating func notify(_ state: NotifyEvent.State) {
        emit(
            .notify(
                NotifyEvent(
                    scope: .instance, name: configuration.name, state: state, priority: Int(effectivePriority))))
    }
}
