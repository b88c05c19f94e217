//! The widest vector instructions of this CPU for plain loops, chosen at run time.
//!
//! The crates are compiled for the baseline target (SSE2 on x86-64), so a loop the compiler
//! vectorises works on 4-lane f32 vectors. [`widest`] runs a closure inside a function compiled
//! with AVX2 and FMA enabled when the CPU has them: what is inlined into it — the closure, the
//! loop in it and the op it applies — is compiled for AVX2, so a loop that the compiler
//! vectorises runs 8 lanes wide.
//!
//! **Same bits either way.** Rust never contracts `a·b + c` into an FMA, and a vectorised loop
//! does the same IEEE operation on every lane as the scalar loop does on each element (library
//! calls such as `exp` are the same function on both paths), so the results do not depend on
//! which path ran; the test below checks that on an optimiser update and a few ops.
//!
//! The GEMM has micro-kernels of its own (`gemm`) and does not go through this.

/// `f()`, compiled for AVX2 + FMA when the CPU has both, else for the baseline target.
///
/// Only code inlined into `f` gains, and the compiler may leave a large closure out of line:
/// write the loop inside the closure itself and mark the closure `#[inline(always)]`:
///
/// ```
/// # let (x, mut y) = (vec![1.0f32; 100], vec![0.0f32; 100]);
/// autograd::kernels::widest(
///     #[inline(always)]
///     || {
///         for (y, &x) in y.iter_mut().zip(&x) {
///             *y = 2.0 * x + 1.0;
///         }
///     },
/// );
/// ```
#[inline(always)]
pub fn widest<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has the two features just checked.
            return unsafe { avx2_fma(f) };
        }
    }
    f()
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_fma<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::widest;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Adam's update (the form `nn::optim::Adam` runs) on slices.
    fn adam(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        let (b1, b2, lr, eps, c1, c2) = (0.9f32, 0.999f32, 1e-3f32, 1e-8f32, 10.0f32, 1000.0f32);
        for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *w -= lr * (*m * c1) / ((*v * c2).sqrt() + eps);
        }
    }

    fn ops(x: &[f64]) -> Vec<f64> {
        x.iter()
            .map(|&v| (v * 1.5 + 0.25).max(0.0) + v.exp() / (1.0 + v * v) - v.tanh())
            .collect()
    }

    /// The baseline path and `widest` give the same bits; on a CPU without AVX2 + FMA both are
    /// the baseline path and the test checks nothing new (it says so).
    #[test]
    fn widest_gives_the_bits_of_the_baseline_loop() {
        #[cfg(target_arch = "x86_64")]
        if !(std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")) {
            eprintln!("no AVX2 + FMA on this CPU: both paths are the baseline one");
        }
        let mut rng = StdRng::seed_from_u64(11);
        // an odd length, so that the vector loops have a remainder
        let n = 1001;
        let mut sample =
            |s: f64| -> Vec<f32> { (0..n).map(|_| rng.gen_range(-s..s) as f32).collect() };
        let (w0, g, m0, v0) = (sample(1.0), sample(0.1), sample(0.01), sample(1e-4));
        let v0: Vec<f32> = v0.iter().map(|x| x.abs()).collect();
        let (mut w1, mut m1, mut v1) = (w0.clone(), m0.clone(), v0.clone());
        let (mut w2, mut m2, mut v2) = (w0.clone(), m0.clone(), v0.clone());
        for _ in 0..3 {
            adam(&mut w1, &g, &mut m1, &mut v1);
            widest(|| adam(&mut w2, &g, &mut m2, &mut v2));
        }
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&w1), bits(&w2), "weights");
        assert_eq!(bits(&m1), bits(&m2), "first moments");
        assert_eq!(bits(&v1), bits(&v2), "second moments");
        let x: Vec<f64> = (0..n).map(|_| rng.gen_range(-5.0..5.0)).collect();
        let (plain, wide) = (ops(&x), widest(|| ops(&x)));
        let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&plain), bits(&wide), "ops");
    }
}
