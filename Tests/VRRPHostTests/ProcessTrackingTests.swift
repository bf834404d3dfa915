// vrrp_track_process: which processes match, and the quorum with fork_delay and terminate_delay on a manual clock.
import Timeline
import DirectorConfig
import Glibc
import Platform
import Testing

@testable import VRRPHost

struct ProcessTrackingTests {
    @Test("by name (15 bytes, as the kernel keeps it); by command line with parameters, exact, initial or partial")
    func matching() {
        let byName = TrackProcess(name: "p", process: "haproxy")
        #expect(byName.matches(name: "haproxy", commandLine: ["/usr/sbin/haproxy", "-f", "x"]))
        #expect(!byName.matches(name: "haproxy-wrap", commandLine: []))
        let long = TrackProcess(name: "p", process: "a-very-long-process-name")
        #expect(long.matches(name: "a-very-long-pro", commandLine: []))
        let exact = TrackProcess(name: "p", process: "/usr/sbin/nginx", parameters: ["-g", "daemon off;"], parameterMatch: .exact, fullCommand: true)
        #expect(exact.matches(name: "nginx", commandLine: ["/usr/sbin/nginx", "-g", "daemon off;"]))
        #expect(!exact.matches(name: "nginx", commandLine: ["/usr/sbin/nginx", "-g", "daemon off;", "-q"]))
        #expect(!exact.matches(name: "nginx", commandLine: ["nginx", "-g", "daemon off;"]))
        let initial = TrackProcess(name: "p", process: "/bin/sleep", parameters: ["10"], parameterMatch: .initial, fullCommand: true)
        #expect(initial.matches(name: "sleep", commandLine: ["/bin/sleep", "1000"]))
        #expect(!initial.matches(name: "sleep", commandLine: ["/bin/sleep", "2000"]))
        let partial = TrackProcess(name: "p", process: "/bin/sleep", parameters: ["10"], parameterMatch: .partial, fullCommand: true)
        #expect(partial.matches(name: "sleep", commandLine: ["/bin/sleep", "10", "more"]))
        #expect(!partial.matches(name: "sleep", commandLine: ["/bin/sleep", "100"]))
        let noArgs = TrackProcess(name: "p", process: "/bin/sleep", parameterMatch: .exact, fullCommand: true)
        #expect(noArgs.matches(name: "sleep", commandLine: ["/bin/sleep"]) && !noArgs.matches(name: "sleep", commandLine: ["/bin/sleep", "1"]))
    }

    @Test("the first count sets the status; later changes wait for fork_delay up and terminate_delay down")
    func delays() {
        let t0 = Moment.now
        func at(_ s: Double) -> Moment { t0 + .milliseconds(Int64(s * 1000)) }
        var q = ProcessQuorum(TrackProcess(name: "p", process: "x", quorum: 2, quorumMax: 3, forkDelay: .seconds(2), terminateDelay: .seconds(1)))
        #expect(q.observe(count: 2, now: at(0)) == true)
        #expect(q.observe(count: 1, now: at(1)) == nil, "lost, but not for terminate_delay yet")
        #expect(q.observe(count: 2, now: at(1.5)) == nil, "back before the delay: no change at all")
        #expect(q.observe(count: 4, now: at(2)) == nil, "above quorum_max is out of quorum too")
        #expect(q.observe(count: 4, now: at(3)) == false)
        #expect(q.observe(count: 3, now: at(4)) == nil)
        #expect(q.observe(count: 3, now: at(5)) == nil)
        #expect(q.observe(count: 3, now: at(6)) == true, "up after fork_delay")
        var none = ProcessQuorum(TrackProcess(name: "p", process: "x", quorum: 0, quorumMax: 0))
        #expect(none.observe(count: 0, now: at(0)) == true, "quorum_max 0: up while none runs")
        #expect(none.observe(count: 1, now: at(1)) == false)
    }

    @Test("/proc lists this test process with its name and command line")
    func procListsItself() {
        let me = getpid()
        let found = ProcProcesses().processes().first { $0.pid == me }
        #expect(found != nil && !(found?.name.isEmpty ?? true) && !(found?.commandLine.isEmpty ?? true))
    }
}

struct ProcessTrackingHostTests {
    static let text = """
        vrrp_track_process chk_haproxy {
            process haproxy
            quorum 1
        }
        vrrp_track_process chk_web {
            process /usr/sbin/nginx -g "daemon off;"
            weight -60
            terminate_delay 2
        }
        vrrp_instance VI_1 {
            interface eth0
            virtual_router_id 51
            priority 150
            track_process {
                chk_haproxy
                chk_web
            }
            virtual_ipaddress {
                192.0.2.10/24
            }
        }

        """

    @Test("out of quorum at start is FAULT; a process appearing clears it at the next read; a weight lowers the priority after terminate_delay")
    func faultAndWeight() throws {
        let h = try Harness(Self.text)
        let nginx = RunningProcess(pid: 20, name: "nginx", commandLine: ["/usr/sbin/nginx", "-g", "daemon off;"])
        h.processes.running.update { $0 = [nginx] }
        try h.start()
        #expect(h.state("VI_1") == "FAULT")
        h.processes.running.update { $0 = [RunningProcess(pid: 10, name: "haproxy", commandLine: ["/usr/sbin/haproxy"]), nginx] }
        h.advance(to: 1)
        #expect(h.state("VI_1") == "BACKUP")
        h.advance(to: 4.5)
        #expect(h.state("VI_1") == "MASTER")
        #expect(h.core.router.members["VI_1"]?.machine.effectivePriority == 150)
        h.processes.running.update { $0 = [RunningProcess(pid: 10, name: "haproxy", commandLine: ["/usr/sbin/haproxy"])] }
        // The reads come a second apart (5.5 was the next one after 4.5): the loss is seen at 6.
        h.advance(to: 6)
        h.advance(to: 7)
        #expect(h.core.router.members["VI_1"]?.machine.effectivePriority == 150, "terminate_delay 2 has not passed")
        h.advance(to: 8)
        #expect(h.core.router.members["VI_1"]?.machine.effectivePriority == 90)
    }
}
