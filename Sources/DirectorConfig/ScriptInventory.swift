/// One script the configuration would run, named as an operator finds it in the file.
public struct ScriptUse: Hashable, Sendable {
    /// "vrrp_instance VI_1 notify_master", "real_server 10.0.0.1:80 of virtual_server ... notify_up", ...
    public var role: String
    public var command: String
    public var user: ScriptUser?
    /// The block that declares it.
    public var origin: SourceOrigin

    public init(role: String, command: String, user: ScriptUser?, origin: SourceOrigin) {
        self.role = role
        self.command = command
        self.user = user
        self.origin = origin
    }
}

extension Configuration {
    /// Every script the configuration names, in file order by kind: the lifecycle scripts, vrrp_script, the
    /// instances' and sync groups' notify scripts, then the virtual servers' quorum, real server and MISC_CHECK
    /// scripts. `directord -t` puts each through the host's script policy, as start does.
    public var scriptUses: [ScriptUse] {
        var uses: [ScriptUse] = []
        func add(_ role: String, _ script: NotifyScript?, _ origin: SourceOrigin) {
            guard let script else { return }
            uses.append(ScriptUse(role: role, command: script.command, user: script.user, origin: origin))
        }
        func add(_ owner: String, _ notify: NotifyScripts, _ origin: SourceOrigin) {
            add("\(owner) notify_master", notify.master, origin)
            add("\(owner) notify_backup", notify.backup, origin)
            add("\(owner) notify_fault", notify.fault, origin)
            add("\(owner) notify_stop", notify.stop, origin)
            add("\(owner) notify", notify.any, origin)
            add("\(owner) notify_deleted", notify.deleted, origin)
        }
        let global = SourceOrigin(nil)
        add("global_defs startup_script", globals.startupScript, global)
        add("global_defs shutdown_script", globals.shutdownScript, global)
        for script in vrrpScripts {
            uses.append(ScriptUse(role: "vrrp_script \(script.name)", command: script.command, user: script.user,
                                  origin: script.origin))
        }
        for instance in vrrpInstances {
            add("vrrp_instance \(instance.name)", instance.notify, instance.origin)
            add("vrrp_instance \(instance.name) notify_master_rx_lower_pri", instance.notifyMasterRxLowerPriority,
                instance.origin)
        }
        for group in syncGroups { add("vrrp_sync_group \(group.name)", group.notify, group.origin) }
        for vs in virtualServers {
            let owner = "virtual_server \(vs.identity)"
            add("\(owner) quorum_up", vs.quorumUp, vs.origin)
            add("\(owner) quorum_down", vs.quorumDown, vs.origin)
            for real in vs.realServers {
                let realOwner = "real_server \(real.endpoint) of \(owner)"
                add("\(realOwner) notify_up", real.notifyUp, real.origin)
                add("\(realOwner) notify_down", real.notifyDown, real.origin)
                for check in real.checks {
                    guard let misc = check.misc else { continue }
                    uses.append(ScriptUse(role: "\(realOwner) MISC_CHECK", command: misc.command, user: misc.user,
                                          origin: real.origin))
                }
            }
        }
        return uses
    }
}
