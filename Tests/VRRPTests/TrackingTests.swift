import Testing

import VRRP

/// Tracked objects as keepalived weighs them, track_files' numbers included.
@Suite("Tracking")
struct TrackingTests {
    @Test func trackFileValuesFollowKeepalivedsRules() {
        let file = TrackedObject(name: "file:f", weight: -10, tracksValue: true)
        #expect(file.fileContribution(0) == 0)
        #expect(file.fileContribution(3) == -30)
        #expect(file.fileContribution(-3) == 30)
        // Limited to 253 upwards; -254 or less is FAULT.
        #expect(file.fileContribution(-100) == 253)
        #expect(file.fileContribution(25) == -250)
        #expect(file.fileContribution(26) == nil)
        #expect(TrackedObject(name: "f", weight: 10, reverse: true, tracksValue: true).fileContribution(2) == -20)
        // Weight 0 is a switch: non-zero is FAULT; reversed, zero is.
        #expect(TrackedObject(name: "f", weight: 0, tracksValue: true).fileContribution(7) == nil)
        #expect(TrackedObject(name: "f", weight: 0, tracksValue: true).fileContribution(0) == 0)
        #expect(TrackedObject(name: "f", weight: 0, reverse: true, tracksValue: true).fileContribution(0) == nil)
        #expect(TrackedObject(name: "f", weight: 254, tracksValue: true).fileContribution(Int64(Int32.max) + 1) == 253)
    }

    @Test func stateSumsFilesWithScriptsAndClampsThePriority() {
        var state = TrackingState(
            objects: [
                TrackedObject(name: "script:s", weight: 20), TrackedObject(name: "file:f", weight: 5, tracksValue: true),
            ],
            initiallyUp: ["script:s"])
        #expect(state.summary == TrackingSummary(weight: 20))
        let changed = state.set("file:f", value: 4)
        let again = state.set("file:f", value: 4)
        let unknown = state.set("file:g", value: 1)
        #expect(changed && !again && !unknown)
        #expect(state.summary == TrackingSummary(weight: 40))
        #expect(state.summary.effectivePriority(base: 230) == 254)
        state.set("file:f", value: -60)
        #expect(state.summary == TrackingSummary(weight: 20, faulted: true))
        // Up/down reports do not touch a file.
        let flipped = state.set("file:f", up: false)
        #expect(!flipped)
    }
}
