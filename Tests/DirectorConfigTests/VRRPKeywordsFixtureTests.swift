// Fixtures/vrrp-keywords.conf: the VRRP keywords implemented after the basics, read as keepalived 2.2.7 reads them.
import DirectorConfig
import Testing

struct VRRPKeywordsFixtureTests {
    @Test func everyKeywordMeansWhatKeepalivedMakesOfIt() throws {
        let result = ConfigurationLoader().load(path: Paths.fixture("vrrp-keywords.conf"))
        // The sync group zeroes VI_MULTICAST's own track_file weight (-10 from the track_file), as keepalived requires.
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        #expect(result.warnings.map(\.short) == [
            "74:9: warning: track_file 'maintenance' weight -10 is set to 0: instance 'VI_MULTICAST' is in a sync group (keepalived requires weight 0 there); track the file in the vrrp_sync_group instead",
        ])
        let config = try #require(result.configuration)
        let g = config.globals
        #expect(g.vrrpCheckUnicastSource && g.vrrpDownTimerAdverts == 4 && g.vrrpStartupDelay == .milliseconds(2500))
        #expect(g.defaultInterface == "eth0" && g.garp.masterRepeat == 1 && g.garp.masterDelay == .zero)
        #expect(g.vrrpLowerPriorityNoAdvert && g.vrrpHigherPrioritySendAdvert)
        #expect(config.staticNetwork.addresses.first?.device == "eth0")
        let u = try #require(config.vrrpInstance(named: "VI_UNICAST"))
        #expect(u.checkUnicastSource && u.unicastTTL == 8 && !u.faultsWithoutPeers && u.downTimerAdverts == 5)
        #expect(!u.lowerPriorityNoAdvert && u.higherPrioritySendAdvert && u.promoteSecondaries)
        #expect(u.multicastGroup == nil, "unicast instances have no group")
        #expect(u.notifyMasterRxLowerPriority?.command == "/usr/local/sbin/lower-priority-seen")
        #expect(u.notify.notifyDeleted && u.notify.deleted?.command == "/usr/local/sbin/instance-deleted")
        #expect(u.virtualRules.map(\.priority) == [1000])
        let m = try #require(config.vrrpInstance(named: "VI_MULTICAST"))
        #expect(m.multicastGroup?.description == "224.0.0.101" && m.downTimerAdverts == 4 && !m.higherPrioritySendAdvert)
        #expect(m.lowerPriorityNoAdvert && !m.checkUnicastSource)
        #expect(m.trackFiles == [TrackedFile(name: "maintenance", weight: 0)])
        #expect(config.syncGroups.first?.trackFiles.map(\.name) == ["maintenance"])
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
    }
}
