//! Keeping the rayon pool's workers awake between kernels.
//!
//! A training step is a chain of parallel kernels separated by short serial stretches: tape
//! bookkeeping, small ops, the optimiser's scalar work. Rayon parks a worker that has found no
//! work for 32 rounds of `sched_yield` (tens of microseconds), and waking a parked worker costs
//! a futex call and, on a virtual machine, an inter-processor interrupt. Measured on the 2-vCPU
//! machine of `docs/performance.md`: a `join` of two 20 µs halves took 21 µs right after other
//! parallel work, but 40–200 µs after a serial gap of 50 µs or more, because the caller ran both
//! halves itself while the other worker was being woken. A 784-800-50-10 training step has
//! dozens of such gaps.
//!
//! OpenMP runtimes meet the same problem by letting an idle worker spin for a while before it
//! sleeps (`GOMP_SPINCOUNT`, `KMP_BLOCKTIME`). [`keep_warm`] does the same on rayon: it sends
//! every other worker of the current pool a job that keeps taking the pool's work
//! (`rayon::yield_now`) until it has found none for [`spin_idle`] (1 ms unless
//! `DISTILLERY_SPIN_US` says otherwise; `0` turns spinning off), and only then returns the
//! worker to rayon, which parks it as before.
//!
//! Only a caller that is itself a worker of the pool arms the spinners (the `distillery` command
//! runs on one, inside `ThreadPool::install`): then the spinning workers and the caller are
//! exactly the pool's threads, and no core is oversubscribed. A caller outside the pool (a test
//! thread, a program that never calls `install`) keeps rayon's behaviour unchanged.
//!
//! The kernels' entry points arm, never their inner parallel loops. A spinner that rayon hands
//! to a thread waiting inside a `join` would hold that thread until it idles for the spin time;
//! entry points run on the caller's thread, and the caller's own copy of the job returns at
//! once. Scheduling never changes a result: every kernel's bits are independent of which
//! thread runs which part.

use std::cell::Cell;
#[cfg(test)]
use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The spin time when `DISTILLERY_SPIN_US` is not set: long enough to bridge the serial
/// stretches inside and between training steps (tens of µs to a few hundred), short enough that
/// an idle program stops using the other cores within a millisecond.
const DEFAULT_SPIN_IDLE: Duration = Duration::from_millis(1);

/// How long a spinning worker goes on looking for work after its last job:
/// `DISTILLERY_SPIN_US` microseconds if set (read once), else [`DEFAULT_SPIN_IDLE`].
pub(crate) fn spin_idle() -> Duration {
    static IDLE: OnceLock<Duration> = OnceLock::new();
    *IDLE.get_or_init(|| match std::env::var("DISTILLERY_SPIN_US") {
        Err(_) => DEFAULT_SPIN_IDLE,
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(us) => Duration::from_micros(us),
            Err(_) => {
                eprintln!(
                    "warning: DISTILLERY_SPIN_US={text:?} is not a whole number of microseconds; \
                     using {} µs (set it to e.g. 1000, or 0 to turn spinning off)",
                    DEFAULT_SPIN_IDLE.as_micros()
                );
                DEFAULT_SPIN_IDLE
            }
        },
    })
}

thread_local! {
    /// Whether this thread is running a spinner (a second one handed to it returns at once).
    static SPINNING: Cell<bool> = const { Cell::new(false) };
    /// When this thread last armed the spinners.
    static ARMED_AT: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Keeps the current pool's other workers taking work for [`spin_idle`] after their last job,
/// if the calling thread is one of the pool's workers and the pool has more than one. Cheap
/// when they are already spinning: a thread-local clock check (re-armed every half spin time,
/// which every spinner outlives: its own arrival counts as work).
pub(crate) fn keep_warm() {
    keep_warm_at(spin_idle(), Instant::now());
}

/// [`keep_warm`] with a given spin time, called at `now`; says whether it sent the spinners
/// out (it does not when they are out already, or there is nothing to keep awake).
fn keep_warm_at(idle: Duration, now: Instant) -> bool {
    let Some(home) = rayon::current_thread_index() else {
        return false;
    };
    if idle.is_zero() || rayon::current_num_threads() < 2 {
        return false;
    }
    if ARMED_AT
        .get()
        .is_some_and(|armed| now.duration_since(armed) < idle / 2)
    {
        return false;
    }
    ARMED_AT.set(Some(now));
    rayon::spawn_broadcast(move |worker| {
        if worker.index() != home {
            spin(idle);
        }
    });
    true
}

/// Runs the pool's jobs on this thread until none has come for `idle`.
fn spin(idle: Duration) {
    if SPINNING.replace(true) {
        return;
    }
    #[cfg(test)]
    let counted = tests::started();
    let mut last_job = Instant::now();
    loop {
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => last_job = Instant::now(),
            _ if last_job.elapsed() >= idle => break,
            _ => std::hint::spin_loop(),
        }
    }
    #[cfg(test)]
    if counted {
        tests::SPINNERS.fetch_sub(1, Ordering::SeqCst);
    }
    SPINNING.set(false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// The name of the test pool's threads: only their spinners are counted (other tests run
    /// kernels inside pools of their own, which spin too).
    const POOL_NAME: &str = "keep-warm-test";

    /// Spinners running now on the test pool's threads, and the most at once.
    pub(super) static SPINNERS: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    /// Counts a spinner starting, if it is on the test pool; says whether it counted it.
    pub(super) fn started() -> bool {
        let counted = std::thread::current().name() == Some(POOL_NAME);
        if counted {
            let now = SPINNERS.fetch_add(1, Ordering::SeqCst) + 1;
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        counted
    }

    /// Waits until `done()` holds, for at most `limit` (then fails the test).
    fn wait_for(what: &str, limit: Duration, done: impl Fn() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < limit,
                "{what} did not happen within {limit:?}"
            );
            std::thread::yield_now();
        }
    }

    #[test]
    fn every_other_worker_spins_once_does_the_work_and_then_stops() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .thread_name(|_| POOL_NAME.to_string())
            .build()
            .unwrap();
        let idle = Duration::from_millis(100);
        let start = Instant::now();
        assert!(!keep_warm_at(idle, start), "armed from outside a pool");
        let single = rayon::ThreadPoolBuilder::new().num_threads(1).build();
        let single = single.unwrap().install(|| keep_warm_at(idle, start));
        assert!(!single, "armed a one-thread pool");
        let off = pool.install(|| keep_warm_at(Duration::ZERO, start));
        assert!(!off, "armed with spinning off");
        pool.install(|| {
            for round in 0..20 {
                // On a clock of quarter spin times, sent out every other round. (The spinners
                // themselves keep real time: each round's work below renews their spin time.)
                let now = start + idle * round / 4;
                assert_eq!(keep_warm_at(idle, now), round % 2 == 0, "round {round}");
                // The two other workers spin; the caller (home) does not, and no worker
                // runs two spinners even though it is armed over and over.
                wait_for("two spinners", Duration::from_secs(10), || {
                    SPINNERS.load(Ordering::SeqCst) == 2
                });
                // Work handed to the pool meanwhile is done (by the spinners or the caller).
                let sum: u64 = rayon::broadcast(|w| w.index() as u64).into_iter().sum();
                assert_eq!(sum, 3);
            }
        });
        assert_eq!(
            PEAK.load(Ordering::SeqCst),
            2,
            "the caller spun, or a worker spun twice"
        );
        // Left without work, they go back to rayon.
        wait_for("the spinners to stop", Duration::from_secs(10), || {
            SPINNERS.load(Ordering::SeqCst) == 0
        });
    }
}
