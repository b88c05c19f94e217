//! The workloads of `docs/performance.md`, under the names `torch_bench.py` uses. Inputs are
//! random from a fixed seed; shapes and counts are those of the PyTorch reference.

use autograd::functional::{cross_entropy, Reduction};
use autograd::kernels::gemm;
use autograd::{Conv2dGeometry, Float, Tape, Tensor, Var};
use ndarray::{Array2, ArrayD, IxDyn};
use nn::layers::{mlp, Activation, Conv2d, Flatten, Linear, MaxPool2d, Sequential};
use nn::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use nn::{Ctx, Module};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::{Metric, Prepared, Workload};

pub(super) const SEED: u64 = 0;

/// Every workload, in the reference's order, after the machine's FMA peak (ours alone: the
/// yardstick of the GFLOP/s figures, [`super::peak`]).
pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "fma_peak_f32",
        prepare: super::peak::fma_peak_f32,
    },
    Workload {
        name: "gemm_f32_256",
        prepare: || square_gemm::<f32>(256, false, false),
    },
    Workload {
        name: "gemm_f32_512",
        prepare: || square_gemm::<f32>(512, false, false),
    },
    Workload {
        name: "gemm_f32_1024",
        prepare: || square_gemm::<f32>(1024, false, false),
    },
    Workload {
        name: "gemm_f32_2048",
        prepare: || square_gemm::<f32>(2048, false, false),
    },
    Workload {
        name: "gemm_f64_1024",
        prepare: || square_gemm::<f64>(1024, false, false),
    },
    Workload {
        name: "gemm_f32_at_b_1024",
        prepare: || square_gemm::<f32>(1024, true, false),
    },
    Workload {
        name: "gemm_f32_a_bt_1024",
        prepare: || square_gemm::<f32>(1024, false, true),
    },
    Workload {
        name: "mlp_teacher_train",
        prepare: || training(&[784, 800, 50, 10], adam, 256),
    },
    Workload {
        name: "mlp_teacher_infer",
        prepare: mlp_teacher_infer,
    },
    Workload {
        name: "logreg_train",
        prepare: || training(&[784, 10], sgd, 256),
    },
    Workload {
        name: "mlp4_train",
        prepare: || training(&[784, 256, 256, 256, 10], adam, 256),
    },
    Workload {
        name: "lenet_train",
        prepare: lenet_train,
    },
    Workload {
        name: "conv_32_64_fwd",
        prepare: || conv_32_64(false),
    },
    Workload {
        name: "conv_32_64_fwdbwd",
        prepare: || conv_32_64(true),
    },
    Workload {
        name: "conv_dilated_fwdbwd",
        prepare: conv_dilated_fwdbwd,
    },
    Workload {
        name: "tape_overhead_scalar_chain",
        prepare: tape_overhead_scalar_chain,
    },
    Workload {
        name: "hvp_mlp_teacher",
        prepare: hvp_mlp_teacher,
    },
    // the peak resident memory of a fresh process taking 100 of the teacher's training steps
    Workload {
        name: "peak_rss_mlp_train",
        prepare: || Prepared {
            step: Box::new(|| {}),
            metric: Metric::PeakMiB {
                of: "mlp_teacher_train",
                steps: 100,
            },
        },
    },
];

fn normal<F: Float>(rng: &mut StdRng, shape: &[usize]) -> ArrayD<F> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || F::from_f64(rng.sample(StandardNormal)))
}

/// `C = op(A)·op(B)` for square `n × n` matrices into a preallocated `C`; a transposed operand
/// is a view, never copied. Metric: `2n³` FLOP per call.
fn square_gemm<F: Float>(n: usize, ta: bool, tb: bool) -> Prepared {
    let mut rng = StdRng::seed_from_u64(SEED);
    let a: Array2<F> =
        Array2::from_shape_simple_fn((n, n), || F::from_f64(rng.sample(StandardNormal)));
    let b: Array2<F> =
        Array2::from_shape_simple_fn((n, n), || F::from_f64(rng.sample(StandardNormal)));
    let mut c = Array2::<F>::zeros((n, n));
    Prepared {
        step: Box::new(move || {
            let a = if ta { a.t() } else { a.view() };
            let b = if tb { b.t() } else { b.view() };
            gemm(F::one(), a, b, F::zero(), c.view_mut());
        }),
        metric: Metric::PerSecond {
            unit: "GFLOP/s",
            count: 2.0 * (n as f64).powi(3) / 1e9,
        },
    }
}

/// The teacher MLP 784-800-50-10 (ReLU), weights `[in, out]` initialised as PyTorch's Linear
/// does (uniform in `±1/√fan_in`).
fn teacher_params(rng: &mut StdRng) -> Vec<Tensor<f32>> {
    let sizes = [784, 800, 50, 10];
    let mut params = Vec::new();
    for w in sizes.windows(2) {
        let bound = 1.0 / (w[0] as f64).sqrt();
        let mut uniform = |shape: &[usize]| {
            ArrayD::from_shape_simple_fn(IxDyn(shape), || rng.gen_range(-bound..bound) as f32)
                .into_shared()
        };
        params.push(uniform(&[w[0], w[1]]));
        params.push(uniform(&[w[1]]));
    }
    params
}

fn mlp_logits<'t>(x: Var<'t, f32>, params: &[Var<'t, f32>]) -> Var<'t, f32> {
    let layers = params.len() / 2;
    let mut h = x;
    for (i, wb) in params.chunks(2).enumerate() {
        h = h
            .matmul(wb[0])
            .and_then(|z| z.try_add(wb[1]))
            .expect("shapes fixed above");
        if i + 1 < layers {
            h = h.relu();
        }
    }
    h
}

fn batch(rng: &mut StdRng, n: usize, features: usize) -> (ArrayD<f32>, Vec<usize>) {
    let x = normal(rng, &[n, features]);
    let y = (0..n).map(|_| rng.gen_range(0..10)).collect();
    (x, y)
}

/// Forward only of the teacher MLP on a batch of 1024, nothing recorded.
fn mlp_teacher_infer() -> Prepared {
    let mut rng = StdRng::seed_from_u64(SEED);
    let params = teacher_params(&mut rng);
    let (x, _) = batch(&mut rng, 1024, 784);
    let x = x.into_shared();
    Prepared {
        step: Box::new(move || {
            let tape = Tape::new();
            let _guard = tape.no_grad();
            let ps: Vec<_> = params.iter().map(|p| tape.constant(p.clone())).collect();
            mlp_logits(tape.constant(x.clone()), &ps);
        }),
        metric: Metric::PerSecond {
            unit: "samples/s",
            count: 1024.0,
        },
    }
}

/// Conv2d 32→64 channels, 3×3, stride 1, pad 1, on 32×32×14×14; with `backward`, the gradients
/// of input and weight from a fixed output cotangent. Metric: GFLOP/s, the backward counting
/// twice the forward.
fn conv_32_64(backward: bool) -> Prepared {
    let flop = 2.0 * 32.0 * 64.0 * 14.0 * 14.0 * 32.0 * 9.0 / 1e9;
    let count = if backward { 3.0 * flop } else { flop };
    Prepared {
        step: conv_step(
            [32, 32, 14, 14],
            [64, 32, 3, 3],
            Conv2dGeometry::new(1, 1, 1),
            backward,
        ),
        metric: Metric::PerSecond {
            unit: "GFLOP/s",
            count,
        },
    }
}

/// Conv2d 1→8 channels, 3×3, dilation 2, pad 2 on a batch of 128 28×28 images, forward and
/// backward.
fn conv_dilated_fwdbwd() -> Prepared {
    Prepared {
        step: conv_step(
            [128, 1, 28, 28],
            [8, 1, 3, 3],
            Conv2dGeometry::new(1, 2, 2),
            true,
        ),
        metric: Metric::PerSecond {
            unit: "samples/s",
            count: 128.0,
        },
    }
}

fn conv_step(
    x: [usize; 4],
    w: [usize; 4],
    geom: Conv2dGeometry,
    backward: bool,
) -> Box<dyn FnMut()> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let x = normal::<f32>(&mut rng, &x).into_shared();
    let w = normal::<f32>(&mut rng, &w).into_shared();
    let dy = {
        let tape = Tape::new();
        let y = tape
            .constant(x.clone())
            .conv2d(tape.constant(w.clone()), None, geom)
            .expect("shapes");
        normal::<f32>(&mut rng, &y.shape()).into_shared()
    };
    Box::new(move || {
        let tape = Tape::new();
        let (xv, wv) = (tape.param(x.clone()), tape.param(w.clone()));
        let y = xv.conv2d(wv, None, geom).expect("shapes fixed above");
        if backward {
            tape.vjp(y, tape.constant(dy.clone()), &[xv, wv], false)
                .expect("backward");
        }
    })
}

const CHAIN_OPS: usize = 10_000;

/// `y ← y·w, y ← y + b, y ← tanh(y), …` for 10,000 ops on one-element leaves, then the gradient
/// with respect to `x, w, b`. Metric: microseconds per op (forward + backward).
fn tape_overhead_scalar_chain() -> Prepared {
    let leaf = |v: f32| ndarray::arr1(&[v]).into_dyn().into_shared();
    let (x0, w0, b0) = (leaf(0.5), leaf(0.9), leaf(0.1));
    Prepared {
        step: Box::new(move || {
            let tape = Tape::<f32>::new();
            let (x, w, b) = (
                tape.param(x0.clone()),
                tape.param(w0.clone()),
                tape.param(b0.clone()),
            );
            let mut y = x;
            for i in 0..CHAIN_OPS {
                y = match i % 3 {
                    0 => y * w,
                    1 => y + b,
                    _ => y.tanh(),
                };
            }
            tape.grad(y.sum(), &[x, w, b]).expect("scalar output");
        }),
        metric: Metric::MicrosPerOp {
            ops: CHAIN_OPS as f64,
        },
    }
}

/// `H·v` of the teacher MLP's mean cross-entropy on a batch of 256 with respect to all its
/// parameters, by double backward.
fn hvp_mlp_teacher() -> Prepared {
    let mut rng = StdRng::seed_from_u64(SEED);
    let params = teacher_params(&mut rng);
    let (x, y) = batch(&mut rng, 256, 784);
    let x = x.into_shared();
    let v: Vec<Tensor<f32>> = params
        .iter()
        .map(|p| normal(&mut rng, p.shape()).into_shared())
        .collect();
    Prepared {
        step: Box::new(move || {
            let tape = Tape::new();
            let ps: Vec<_> = params.iter().map(|p| tape.param(p.clone())).collect();
            let logits = mlp_logits(tape.constant(x.clone()), &ps);
            let loss = cross_entropy(logits, &y, Reduction::Mean).expect("shapes fixed above");
            tape.hvp(loss, &ps, &v).expect("hvp");
        }),
        metric: Metric::PerSecond {
            unit: "HVPs/s",
            count: 1.0,
        },
    }
}

fn adam() -> Box<dyn Optimizer<f32>> {
    Box::new(Adam::new(AdamConfig::adam(1e-3)).expect("valid settings"))
}

fn sgd() -> Box<dyn Optimizer<f32>> {
    Box::new(Sgd::new(SgdConfig::new(0.1)).expect("valid settings"))
}

/// One training step of `model` on a fixed random batch of `[batch, dims…]` inputs: forward,
/// cross-entropy, backward, optimiser update. Metric: samples per second.
fn train_step(
    mut model: Box<dyn Module<f32>>,
    mut optimizer: Box<dyn Optimizer<f32>>,
    input: &[usize],
    rng: &mut StdRng,
) -> Prepared {
    let x = normal::<f32>(rng, input).into_shared();
    let y: Vec<usize> = (0..input[0]).map(|_| rng.gen_range(0..10)).collect();
    Prepared {
        step: Box::new(move || {
            let grads = {
                let tape = Tape::new();
                let ctx = Ctx::train(&tape, 0);
                let logits = model
                    .forward(&ctx, ctx.input(x.clone()))
                    .expect("shapes fixed above");
                let loss = cross_entropy(logits, &y, Reduction::Mean).expect("shapes fixed above");
                ctx.grads(loss).expect("scalar loss")
            };
            // dropping the tape first lets the optimiser update the parameters in place
            optimizer
                .step(model.as_mut(), &grads)
                .expect("shapes fixed above");
        }),
        metric: Metric::PerSecond {
            unit: "samples/s",
            count: input[0] as f64,
        },
    }
}

/// A ReLU MLP of the given sizes (with biases, as `nn.Linear`).
fn training(sizes: &[usize], optimizer: fn() -> Box<dyn Optimizer<f32>>, batch: usize) -> Prepared {
    let mut rng = StdRng::seed_from_u64(SEED);
    let model = mlp::<f32>(sizes, Activation::Relu, true, &mut rng);
    train_step(Box::new(model), optimizer(), &[batch, sizes[0]], &mut rng)
}

/// The LeNet-5-like CNN of performance.md on 1×28×28 inputs, batch 128, Adam.
fn lenet_train() -> Prepared {
    let mut rng = StdRng::seed_from_u64(SEED);
    let model = Sequential::new()
        .push(Conv2d::new(
            1,
            6,
            5,
            Conv2dGeometry::new(1, 2, 1),
            true,
            &mut rng,
        ))
        .push(Activation::Relu)
        .push(MaxPool2d::new(2))
        .push(Conv2d::new(
            6,
            16,
            5,
            Conv2dGeometry::default(),
            true,
            &mut rng,
        ))
        .push(Activation::Relu)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(400, 120, true, &mut rng))
        .push(Activation::Relu)
        .push(Linear::new(120, 84, true, &mut rng))
        .push(Activation::Relu)
        .push(Linear::new(84, 10, true, &mut rng));
    train_step(Box::new(model), adam(), &[128, 1, 28, 28], &mut rng)
}
