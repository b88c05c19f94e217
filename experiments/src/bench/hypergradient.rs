//! The cost of one exact hypergradient of `methods::meta` against the number `k` of unrolled
//! student steps, with SGD and with Adam as the student's optimiser (issue 19): time per
//! hypergradient (`hypergrad_{sgd,adam}_k{k}`), and the peak resident memory of a process that
//! computes a few (`peak_rss_hypergrad_…`); `…_step` is one plain student step, the baseline of
//! both (its peak is the process's resting level with the model and batches loaded).
//!
//! The times have PyTorch counterparts in `benches/pytorch/torch_bench.py` (the same unrolled
//! steps by `create_graph`); the peaks are ours only, and `benches/compare.py` leaves them
//! without a ratio. The student is Fashion-MNIST-sized, `784 → 128 → 10` ReLU, batches of
//! 128 random inputs (the cost does not depend on the values), validation batch the same size,
//! Adam's moments warmed by two real steps.

use methods::meta::{
    apply_step, hypergradient, InnerOptimizer, InnerState, LowerLevel, MetaParams,
    TemperatureRange, TrainBatch, ValBatch,
};
use ndarray::Array2;
use nn::layers::{mlp, Activation};
use nn::loss::TemperatureScaling;
use nn::optim::AdamConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Metric, Prepared};

/// The student's optimiser of a workload.
#[derive(Clone, Copy)]
pub enum Opt {
    /// SGD at 0.1.
    Sgd,
    /// Adam at PyTorch's defaults (1e-3).
    Adam,
}

const SIZES: [usize; 3] = [784, 128, 10];
const BATCH: usize = 128;

fn random_batch(rng: &mut StdRng) -> TrainBatch<f32> {
    let (dim, classes) = (SIZES[0], SIZES[2]);
    TrainBatch {
        x: Array2::from_shape_fn((BATCH, dim), |_| rng.gen_range(-1.0..1.0)),
        labels: (0..BATCH).map(|_| rng.gen_range(0..classes)).collect(),
        teacher_logits: Array2::from_shape_fn((BATCH, classes), |_| rng.gen_range(-3.0..3.0)),
    }
}

/// One hypergradient through `k` unrolled steps, or (`k = None`) one plain student step.
/// Metric: microseconds per call.
pub fn workload(opt: Opt, k: Option<usize>) -> Prepared {
    let mut rng = StdRng::seed_from_u64(super::workloads::SEED);
    let mut model = mlp::<f32>(&SIZES, Activation::Relu, true, &mut rng);
    let batches: Vec<_> = (0..k.unwrap_or(1).max(2))
        .map(|_| random_batch(&mut rng))
        .collect();
    let v = random_batch(&mut rng);
    let val = ValBatch {
        x: v.x,
        labels: v.labels,
    };
    let lower = LowerLevel {
        optimizer: match opt {
            Opt::Sgd => InnerOptimizer::Sgd { lr: 0.1 },
            Opt::Adam => InnerOptimizer::Adam(AdamConfig::adam(1e-3)),
        },
        scaling: TemperatureScaling::None,
    };
    let meta = MetaParams::from_raw([0.3, -0.5, 0.2], TemperatureRange::default())
        .expect("finite coordinates, default range");
    let mut state = InnerState::default();
    for b in &batches[..2] {
        apply_step(&mut model, &meta, &lower, &mut state, b).expect("shapes fixed above");
    }
    let step: Box<dyn FnMut()> = match k {
        Some(k) => Box::new(move || {
            hypergradient(&model, &meta, &lower, &state, &batches[..k], &val)
                .expect("shapes fixed above");
        }),
        // the live model keeps training: a few more steps change nothing in the cost
        None => Box::new(move || {
            apply_step(&mut model, &meta, &lower, &mut state, &batches[0])
                .expect("shapes fixed above");
        }),
    };
    Prepared {
        step,
        metric: Metric::MicrosPerOp { ops: 1.0 },
    }
}

/// The peak resident memory of a process that runs workload `of` three times.
pub fn peak(of: &'static str) -> Prepared {
    Prepared {
        step: Box::new(|| {}),
        metric: Metric::PeakMiB { of, steps: 3 },
    }
}
