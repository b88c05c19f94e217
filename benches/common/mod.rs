//! What the criterion benches share: the thread count and the rayon pool they run in.

/// `BENCH_THREADS`, else all cores; the global rayon pool is sized to it (criterion's state
/// cannot move into a pool's thread, so the benches run in the global pool, called from the
/// main thread).
pub fn threads_and_pool() -> usize {
    let threads: usize = std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("the global rayon pool is configured once, here");
    threads
}
