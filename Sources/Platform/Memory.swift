import CPlatform

/// glibc allocator settings for a long-running daemon whose memory is mostly one big state built at start and on
/// reload. Without them, every thread that allocates (the event loop, the Swift concurrency pool, the VRRP thread)
/// gets an arena of its own, and what a configuration load frees stays in the process as RSS.
public enum Memory {
    /// Caps the allocator's arenas; call first thing, before the threads that would create more.
    public static func limitArenas(_ count: Int32) {
        _ = directord_malloc_arena_max(count)
    }

    /// Keeps the process's memory in 4 KB pages: with transparent huge pages on ("always", Debian's default), the
    /// kernel backs the allocator's arenas with 2 MB pages that count whole in the RSS however little of them is in
    /// use (in the lab at 5000 reals, 22 of 34 MB of anonymous memory were huge pages; RSS went from 58 to 52 MB
    /// without them). Call first thing, before the big allocations.
    /// Inherited by scripts directord runs, which lose nothing by it. False when the kernel refused.
    @discardableResult
    public static func disableTransparentHugePages() -> Bool {
        directord_thp_disable() == 0
    }

    /// Whether transparent huge pages are off for this process.
    public static var transparentHugePagesDisabled: Bool { directord_thp_disabled() == 1 }

    /// Gives the free memory at the top of the heaps back to the kernel: after a configuration load or reload,
    /// whose parse and plan were transient.
    public static func returnFreed() {
        _ = directord_malloc_trim()
    }
}
