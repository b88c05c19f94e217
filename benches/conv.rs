//! Convolution and max-pooling throughput through the ops (the kernels' only callers): the
//! conv layers of the LeNet and 32→64 workloads of docs/performance.md, forward alone and
//! forward + backward (input and weight gradients from a fixed output cotangent), and the
//! LeNet max-pool forward + backward.
//!
//! ```sh
//! cargo bench --bench conv                       # all cores
//! BENCH_THREADS=1 cargo bench --bench conv       # one thread
//! ```
//!
//! Criterion's throughput is in elements: for a convolution one "element" is one
//! floating-point operation (2·N·O·HO·WO·C·KH·KW forward, 3× that with the backward), so
//! `Gelem/s` reads as GFLOP/s; for max-pooling it is one input element.

mod common;

use autograd::{Conv2dGeometry, Tape, Tensor};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::{ArrayD, IxDyn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn random(rng: &mut StdRng, shape: &[usize]) -> Tensor<f32> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || rng.gen_range(-1.0f32..1.0)).into_shared()
}

/// One convolution layer: `x` `[n, c, h, w]`, weight `[o, c, k, k]`.
fn bench_conv(
    crit: &mut Criterion,
    name: &str,
    x: [usize; 4],
    o: usize,
    k: usize,
    g: Conv2dGeometry,
) {
    let mut rng = StdRng::seed_from_u64(42);
    let xs = random(&mut rng, &x);
    let ws = random(&mut rng, &[o, x[1], k, k]);
    let tape = Tape::<f32>::new();
    let y_shape = tape
        .constant(xs.clone())
        .conv2d(tape.constant(ws.clone()), None, g)
        .unwrap()
        .shape();
    drop(tape);
    let dy = random(&mut rng, &y_shape);
    let forward_flop = 2 * y_shape.iter().product::<usize>() * x[1] * k * k;
    let mut group = crit.benchmark_group(name);
    group.sample_size(20);
    group.throughput(Throughput::Elements(forward_flop as u64));
    group.bench_function("forward", |bench| {
        bench.iter(|| {
            let tape = Tape::<f32>::new();
            let y = tape
                .constant(xs.clone())
                .conv2d(tape.constant(ws.clone()), None, g);
            std::hint::black_box(y.unwrap().numel());
        })
    });
    group.throughput(Throughput::Elements(3 * forward_flop as u64));
    group.bench_function("forward+backward", |bench| {
        bench.iter(|| {
            let tape = Tape::<f32>::new();
            let (xv, wv) = (tape.param(xs.clone()), tape.param(ws.clone()));
            let y = xv.conv2d(wv, None, g).unwrap();
            let grads = tape.vjp(y, tape.constant(dy.clone()), &[xv, wv], false);
            std::hint::black_box(grads.unwrap().len());
        })
    });
    group.finish();
}

/// 2×2 max-pooling of the first LeNet conv layer's output, forward + backward.
fn bench_pool(crit: &mut Criterion) {
    let shape = [128, 6, 28, 28];
    let mut rng = StdRng::seed_from_u64(7);
    let xs = random(&mut rng, &shape);
    let dy = random(&mut rng, &[128, 6, 14, 14]);
    let mut group = crit.benchmark_group("max_pool2d_lenet");
    group.sample_size(20);
    group.throughput(Throughput::Elements(shape.iter().product::<usize>() as u64));
    group.bench_function("forward+backward", |bench| {
        bench.iter(|| {
            let tape = Tape::<f32>::new();
            let xv = tape.param(xs.clone());
            let y = xv.max_pool2d([2, 2], [2, 2]).unwrap();
            let grads = tape.vjp(y, tape.constant(dy.clone()), &[xv], false);
            std::hint::black_box(grads.unwrap().len());
        })
    });
    group.finish();
}

fn benches(crit: &mut Criterion) {
    let threads = common::threads_and_pool();
    let same = Conv2dGeometry::new(1, 1, 1);
    bench_conv(
        crit,
        &format!("conv_32_64_3x3/threads={threads}"),
        [32, 32, 14, 14],
        64,
        3,
        same,
    );
    let lenet1 = Conv2dGeometry::new(1, 2, 1);
    bench_conv(
        crit,
        &format!("conv_lenet1_1_6_5x5/threads={threads}"),
        [128, 1, 28, 28],
        6,
        5,
        lenet1,
    );
    let valid = Conv2dGeometry::default();
    bench_conv(
        crit,
        &format!("conv_lenet2_6_16_5x5/threads={threads}"),
        [128, 6, 14, 14],
        16,
        5,
        valid,
    );
    bench_pool(crit);
}

criterion_group!(conv_benches, benches);
criterion_main!(conv_benches);
