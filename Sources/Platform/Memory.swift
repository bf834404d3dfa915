import CPlatform

/// glibc allocator settings for a long-running daemon whose memory is mostly one big state built at start and on
/// reload. Without them, every thread that allocates (the event loop, the Swift concurrency pool, the VRRP thread)
/// gets an arena of its own, and what a configuration load frees stays in the process as RSS.
public enum Memory {
    /// Caps the allocator's arenas; call first thing, before the threads that would create more.
    public static func limitArenas(_ count: Int32) {
        _ = directord_malloc_arena_max(count)
    }

    /// Gives the free memory at the top of the heaps back to the kernel: after a configuration load or reload,
    /// whose parse and plan were transient.
    public static func returnFreed() {
        _ = directord_malloc_trim()
    }
}
