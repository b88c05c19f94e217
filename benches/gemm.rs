//! GEMM throughput: our kernel against `matrixmultiply` and the `gemm` crate, on the GEMM
//! workloads of docs/performance.md (square n × n, row-major, C preallocated, α = 1, β = 0;
//! Aᵀ·B and A·Bᵀ on transposed views, no copy).
//!
//! ```sh
//! cargo bench --bench gemm                       # all cores
//! BENCH_THREADS=1 cargo bench --bench gemm       # one thread
//! ```
//!
//! Needs the dev-dependencies `criterion`, `matrixmultiply` (feature `threading`), `gemm`
//! (feature `x86-v4`, else it runs its AVX2 kernels only), `rand`, `rayon` and `ndarray`. The
//! thread count is one per process because `matrixmultiply` reads `MATMUL_NUM_THREADS` once; our kernel
//! and the `gemm` crate run in rayon's global pool, sized to it. Criterion's throughput is in
//! elements: one "element" is one floating-point operation, so `Gelem/s` reads as GFLOP/s.

mod common;

use autograd::kernels::gemm::gemm;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The operations the three libraries are compared on.
trait Scalar: autograd::kernels::gemm::GemmScalar + Default {
    fn rand(rng: &mut StdRng) -> Self;
    fn one() -> Self;
    /// # Safety
    /// Valid views (they are).
    unsafe fn matrixmultiply(a: ArrayView2<Self>, b: ArrayView2<Self>, c: ArrayViewMut2<Self>);
}

macro_rules! scalar {
    ($t:ty, $mm:path) => {
        impl Scalar for $t {
            fn rand(rng: &mut StdRng) -> Self {
                rng.gen_range(-1.0..1.0)
            }
            fn one() -> Self {
                1.0
            }
            unsafe fn matrixmultiply(
                a: ArrayView2<Self>,
                b: ArrayView2<Self>,
                mut c: ArrayViewMut2<Self>,
            ) {
                let (m, k) = a.dim();
                let n = b.ncols();
                let (sa, sb) = (a.strides(), b.strides());
                let (rsc, csc) = (c.strides()[0], c.strides()[1]);
                $mm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    sa[0],
                    sa[1],
                    b.as_ptr(),
                    sb[0],
                    sb[1],
                    0.0,
                    c.as_mut_ptr(),
                    rsc,
                    csc,
                );
            }
        }
    };
}

scalar!(f32, matrixmultiply::sgemm);
scalar!(f64, matrixmultiply::dgemm);

/// `gemm` crate: dst ← α·dst + β·lhs·rhs, strides given as (column, row).
unsafe fn gemm_crate<T: Scalar>(
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    mut c: ArrayViewMut2<T>,
    threads: usize,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    let (sa, sb) = (a.strides(), b.strides());
    let (rsc, csc) = (c.strides()[0], c.strides()[1]);
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    gemm::gemm(
        m,
        n,
        k,
        c.as_mut_ptr(),
        csc,
        rsc,
        false,
        a.as_ptr(),
        sa[1],
        sa[0],
        b.as_ptr(),
        sb[1],
        sb[0],
        T::default(),
        T::one(),
        false,
        false,
        false,
        parallelism,
    );
}

#[derive(Clone, Copy)]
enum Variant {
    AB,
    AtB,
    ABt,
}

fn bench_one<T: Scalar>(
    crit: &mut Criterion,
    name: &str,
    n: usize,
    variant: Variant,
    threads: usize,
) {
    let mut rng = StdRng::seed_from_u64(42);
    let x = Array2::from_shape_simple_fn((n, n), || T::rand(&mut rng));
    let y = Array2::from_shape_simple_fn((n, n), || T::rand(&mut rng));
    let mut c = Array2::from_elem((n, n), T::default());
    let (a, b) = match variant {
        Variant::AB => (x.view(), y.view()),
        Variant::AtB => (x.t(), y.view()),
        Variant::ABt => (x.view(), y.t()),
    };
    let mut group = crit.benchmark_group(format!("{name}/threads={threads}"));
    group.throughput(Throughput::Elements(2 * (n * n * n) as u64));
    group.sample_size(10);
    group.bench_function("distillery", |bench| {
        bench.iter(|| gemm(T::one(), a, b, T::default(), c.view_mut()))
    });
    group.bench_function("matrixmultiply", |bench| {
        bench.iter(|| unsafe { T::matrixmultiply(a, b, c.view_mut()) })
    });
    group.bench_function("gemm", |bench| {
        bench.iter(|| unsafe { gemm_crate(a, b, c.view_mut(), threads) })
    });
    group.finish();
}

fn benches(crit: &mut Criterion) {
    // matrixmultiply reads MATMUL_NUM_THREADS once, at its first product: set it before that.
    let threads = common::threads_and_pool();
    std::env::set_var("MATMUL_NUM_THREADS", threads.to_string());
    for n in [256, 512, 1024, 2048] {
        bench_one::<f32>(crit, &format!("gemm_f32_{n}"), n, Variant::AB, threads);
    }
    bench_one::<f64>(crit, "gemm_f64_1024", 1024, Variant::AB, threads);
    bench_one::<f32>(crit, "gemm_f32_at_b_1024", 1024, Variant::AtB, threads);
    bench_one::<f32>(crit, "gemm_f32_a_bt_1024", 1024, Variant::ABt, threads);
}

criterion_group!(gemm_benches, benches);
criterion_main!(gemm_benches);
