//! The cost of one exact hypergradient (`methods::meta::hypergradient`) against the number `k`
//! of unrolled student steps: wall time (median of repeats) and peak heap memory above the
//! resting level, for SGD and Adam, beside the cost of one plain student step.
//!
//! ```sh
//! cargo run --release --example hypergradient_cost -- [REPEATS]
//! ```
//!
//! Two students on random data (f32, as training runs): the seed's synthetic problem size
//! (`3 → 32 → 2`, tanh, batch 64) and a Fashion-MNIST-sized one (`784 → 128 → 10`, ReLU,
//! batch 128; validation batch the same size). Peak memory is counted by a global allocator
//! that tracks the bytes live in the process (all threads); the figure is the peak during the
//! call minus the bytes live just before it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use methods::meta::{
    apply_step, hypergradient, InnerOptimizer, InnerState, LowerLevel, MetaParams,
    TemperatureRange, TrainBatch, ValBatch,
};
use ndarray::Array2;
use nn::layers::{mlp, Activation, Sequential};
use nn::loss::TemperatureScaling;
use nn::optim::AdamConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The system allocator, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the counters are only
// statistics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let now = LIVE.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`, returning its result, its wall time in ms and its peak heap use above the level
/// before it, in MiB.
fn measured<R>(f: impl FnOnce() -> R) -> (R, f64, f64) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let start = Instant::now();
    let out = f();
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    (out, ms, peak as f64 / (1 << 20) as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Problem {
    name: &'static str,
    sizes: Vec<usize>,
    activation: Activation,
    batch: usize,
}

fn random_batch(rng: &mut StdRng, rows: usize, dim: usize, classes: usize) -> TrainBatch<f32> {
    TrainBatch {
        x: Array2::from_shape_fn((rows, dim), |_| rng.gen_range(-1.0..1.0)),
        labels: (0..rows).map(|_| rng.gen_range(0..classes)).collect(),
        teacher_logits: Array2::from_shape_fn((rows, classes), |_| rng.gen_range(-3.0..3.0)),
    }
}

/// glibc serves blocks above a moving threshold with `mmap` and moves the threshold as blocks
/// are freed, so the same call can be fast or slow depending on what ran before it. As
/// `distillery` does (`experiments/src/malloc.rs`), fix the thresholds: blocks up to 32 MiB
/// from the heap, freed memory kept. (Counting is unaffected: it sees requests, not pages.)
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: mallopt only changes the allocator's tuning parameters; it is called at
        // start-up, before any other thread exists, with values glibc documents as valid.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
            mallopt(M_TRIM_THRESHOLD, 1 << 30);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    keep_freed_memory();
    rayon::ThreadPoolBuilder::new().build()?.install(run)
}

fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let repeats: usize = match std::env::args().nth(1) {
        Some(r) => r
            .parse()
            .map_err(|_| format!("REPEATS must be a whole number, got {r:?}"))?,
        None => 5,
    };
    let problems = [
        Problem {
            name: "synthetic 3-32-2 tanh, batch 64",
            sizes: vec![3, 32, 2],
            activation: Activation::Tanh,
            batch: 64,
        },
        Problem {
            name: "MNIST-sized 784-128-10 ReLU, batch 128",
            sizes: vec![784, 128, 10],
            activation: Activation::Relu,
            batch: 128,
        },
    ];
    let meta = MetaParams::from_raw([0.3, -0.5, 0.2], TemperatureRange::default())?;
    for problem in &problems {
        let mut rng = StdRng::seed_from_u64(19);
        let (dim, classes) = (problem.sizes[0], *problem.sizes.last().expect("sizes"));
        let mut model: Sequential<f32> = mlp(&problem.sizes, problem.activation, true, &mut rng);
        let batches: Vec<_> = (0..10)
            .map(|_| random_batch(&mut rng, problem.batch, dim, classes))
            .collect();
        let v = random_batch(&mut rng, problem.batch, dim, classes);
        let val = ValBatch {
            x: v.x,
            labels: v.labels,
        };
        println!("\n{}", problem.name);
        println!(
            "{:<6} {:>3} {:>12} {:>12} {:>12} {:>14}",
            "opt", "k", "time ms", "× a step", "peak MiB", "tape nodes"
        );
        for optimizer in [
            InnerOptimizer::Sgd { lr: 0.1 },
            InnerOptimizer::Adam(AdamConfig::adam(1e-3)),
        ] {
            let lower = LowerLevel {
                optimizer,
                scaling: TemperatureScaling::None,
            };
            // warm Adam's moments with two real steps
            let mut state = InnerState::default();
            for b in &batches[..2] {
                apply_step(&mut model, &meta, &lower, &mut state, b)?;
            }
            // a plain student step, repeated on the live model (a few more steps of training
            // change nothing in the cost)
            let mut step_times = Vec::new();
            for _ in 0..repeats {
                let (r, ms, _) =
                    measured(|| apply_step(&mut model, &meta, &lower, &mut state, &batches[2]));
                r?;
                step_times.push(ms);
            }
            let step_ms = median(step_times);
            let label = match optimizer {
                InnerOptimizer::Sgd { .. } => "SGD",
                InnerOptimizer::Adam(_) => "Adam",
            };
            println!(
                "{label:<6} {:>3} {step_ms:>12.3} {:>12} {:>12} {:>14}",
                "-", "(one step)", "", ""
            );
            for k in [1, 2, 5, 10] {
                let mut times = Vec::new();
                let mut peaks = Vec::new();
                let mut nodes = 0;
                for _ in 0..repeats {
                    let (h, ms, mib) = measured(|| {
                        hypergradient(&model, &meta, &lower, &state, &batches[..k], &val)
                    });
                    nodes = h?.tape_nodes;
                    times.push(ms);
                    peaks.push(mib);
                }
                let t = median(times);
                println!(
                    "{label:<6} {k:>3} {t:>12.3} {:>12.1} {:>12.2} {nodes:>14}",
                    t / step_ms,
                    median(peaks)
                );
            }
        }
    }
    Ok(())
}
