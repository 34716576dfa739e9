//! The process's heap under glibc: the window keeps few arenas, and what a burst of work
//! freed is given back.

/// Gives glibc's free heap pages back to the system (`malloc_trim`). After a burst of
/// work (the start-up loads, a refresh of hundreds of accounts with their bodies, states
/// and TLS buffers, the pricing book) the freed memory stays in the allocator's heaps and
/// the burst's peak would stay as the settled RSS: with 1,000 accounts settled, trimming
/// took the window from 152.6 to 145.1 MB. `true` when some memory was given back
/// (always `false` where the allocator is not glibc's).
pub fn release_free_heap() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages of glibc's arenas; it takes the
    // arenas' locks itself and may be called from any thread at any time.
    let released = unsafe { libc::malloc_trim(0) } == 1;
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let released = false;
    released
}

/// The window's process keeps at most two glibc malloc arenas instead of eight per core:
/// the start-up refresh's look-up and store threads each took an arena of their own, and
/// what they freed stayed with the process. README "Footprint" has the figures. The CLI and
/// `serve` (the gateway's request threads) keep glibc's default. Called on the main thread
/// before any other thread starts.
pub fn cap_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt sets a tuning parameter of glibc's allocator; called on the main
    // thread before the runtime starts its threads.
    unsafe {
        if libc::mallopt(libc::M_ARENA_MAX, 2) != 1 {
            log::debug!("malloc arena limit not set");
        }
    }
}
