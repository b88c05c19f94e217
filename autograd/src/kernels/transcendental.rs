//! `eˣ` and `ln(1 + x)` for `f32` elements, written as straight-line arithmetic so that the
//! compiler vectorises the elementwise loops that call them (libm's `expf` and `log1pf` are
//! opaque calls, one element at a time: in the VAE's Bernoulli likelihood and the variational
//! draws they were a fifth of a training step).
//!
//! **Accuracy.** Both evaluate in `f64` and round once to `f32`. The `f64` value is within
//! `5·10⁻¹⁰` (relative) of the true one — the truncated series below, and `f64` roundings a
//! million times smaller — which is under 0.01 of the smallest relative `f32` ulp (`2⁻²⁴`), so
//! the result is within 0.51 ulp: the correctly rounded value, or, when the true value lies
//! within 0.01 ulp of a midpoint between two `f32`s, its neighbour. The tests sweep every 61st
//! `f32` bit pattern of each function's domain, check ≤ 1 ulp against the rounded `f64` libm
//! value, and that ≥ 99.9 % of them are that value.
//!
//! **Same bits on every path.** No `mul_add`, no table lookup: the operations are the same
//! IEEE operations in the scalar and in the vectorised loop (see [`super::simd`]), so a result
//! does not depend on the CPU's vector width.
//!
//! `f64` tensors keep libm's `exp` and `ln_1p` ([`crate::Float`]), so the engine's `f64`
//! results keep their agreement with PyTorch's.

use std::f64::consts::{LN_2, LOG2_E};

/// `1.5 · 2⁵²`: adding it to a double of magnitude below `2⁵¹` rounds that double to the
/// nearest integer `n` (ties to even) and leaves `n` in the low bits of the sum's
/// representation: `bits(v + SHIFTER) − bits(SHIFTER) = n`.
const SHIFTER: f64 = 6_755_399_441_055_744.0;

/// `eˣ` for `f32`, within 0.51 ulp (see the module's documentation); `e^{+∞} = +∞`,
/// `e^{−∞} = 0`, NaN stays NaN, overflow gives `+∞` and underflow rounds through the
/// subnormals to 0, as libm's.
///
/// With `n = round(x log₂ e)` and `r = x − n ln 2` (so `|r| ≤ ½ ln 2`):
///
/// ```math
/// e^{x} = 2^{n} e^{r}, \qquad e^{r} \approx \sum_{j=0}^{8} \frac{r^{j}}{j!},
/// ```
///
/// whose remainder is below `e^{|r|} |r|^9 / 9! ≤ 2.9·10⁻¹⁰`, relative to `e^{r} ≥ 1/√2`.
/// `n` is taken from the bits of `x log₂ e + 1.5·2⁵²` and `2ⁿ` built from its bits: every `n`
/// this needs, `−151 … 129`, is a normal `f64`, and the single rounding to `f32` at the end
/// handles overflow and the subnormals.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    // e^{−104} < 2^{−150} rounds to 0 and e^{89} > f32::MAX; comparisons leave a NaN as it is
    #[allow(clippy::manual_clamp)] // `clamp` would not keep a NaN as it is
    let x = f64::from(if x < -104.0 {
        -104.0
    } else if x > 89.0 {
        89.0
    } else {
        x
    });
    let t = x * LOG2_E + SHIFTER;
    let n = t - SHIFTER;
    let r = x - n * LN_2;
    const C: [f64; 9] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
    ];
    let mut p = C[8];
    for &c in C[..8].iter().rev() {
        p = p * r + c;
    }
    // 2ⁿ: n + 1023 in the exponent field (wrapping: a NaN's bits give a garbage n, and the
    // NaN of `p` absorbs it)
    let n_bits = (t.to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64);
    let scale = f64::from_bits((n_bits.wrapping_add(1023) as u64).wrapping_shl(52));
    (p * scale) as f32
}

/// `ln(1 + x)` for `f32`, within 0.51 ulp (see the module's documentation), accurate for tiny
/// `x` (where it is `x`); `ln 0 = −∞`, `x < −1` and NaN give NaN, `+∞` gives `+∞`.
///
/// With `u = 1 + x` rounded in `f64` and `δ = x − (u − 1)` its rounding error (exact), and
/// `u = 2ᵏ m`, `m ∈ [1/√2, √2)`, `s = (m − 1)/(m + 1)` (so `|s| ≤ 0.1716`):
///
/// ```math
/// \ln(1 + x) = k \ln 2 + \ln m + \ln(1 + \delta/u) \approx k \ln 2
///   + 2 \sum_{j=0}^{5} \frac{s^{2j+1}}{2j+1} + \frac{\delta}{u},
/// ```
///
/// since `ln m = 2 artanh s`. The series' remainder is below `2|s|^{13}/(13 (1 − s²))`, which
/// is `4·10⁻¹¹` relative to `|ln m| ≥ 2|s|`; `δ/u` is at most `2⁻⁵³` relative.
#[inline(always)]
pub fn ln_1p_f32(x: f32) -> f32 {
    const SQRT_HALF_BITS: i64 = 0x3FE6_A09E_667F_3BCD; // bits of 1/√2
    const ONE_BITS: i64 = 0x3FF0_0000_0000_0000;
    const MANTISSA: i64 = (1 << 52) - 1;
    let x = f64::from(x);
    let u = 1.0 + x;
    let delta = x - (u - 1.0);
    // moving 1/√2 to 1 in the bits carries the mantissas in [1/√2, 1) into the next exponent:
    // what is left of the exponent is k, the mantissa moved back is m ∈ [1/√2, √2)
    let shifted = (u.to_bits() as i64).wrapping_add(ONE_BITS - SQRT_HALF_BITS);
    let k = ((shifted >> 52) - 1023) as f64;
    let m = f64::from_bits(((shifted & MANTISSA) + SQRT_HALF_BITS) as u64);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    const C: [f64; 6] = [1.0, 1.0 / 3.0, 1.0 / 5.0, 1.0 / 7.0, 1.0 / 9.0, 1.0 / 11.0];
    let mut series = C[5];
    for &c in C[..5].iter().rev() {
        series = series * s2 + c;
    }
    let y = k * LN_2 + 2.0 * s * series + delta / u;
    let y = if u > 0.0 {
        if u < f64::INFINITY {
            y
        } else {
            u
        }
    } else if u == 0.0 {
        f64::NEG_INFINITY
    } else {
        f64::NAN
    };
    // ln(1 ± 0) = ±0, as libm's
    (if x == 0.0 { x } else { y }) as f32
}

#[cfg(test)]
mod tests {
    //! Each function against `f64` libm rounded to `f32` (its error is far below the 0.02 ulp
    //! this is judged at) on every 61st bit pattern of its domain, the special values, and the
    //! vectorised path against the scalar one bit for bit.
    use super::{exp_f32, ln_1p_f32};
    use crate::kernels::widest;

    /// The distance in ulps between two finite `f32`s of one sign, or two equal values.
    fn ulps(a: f32, b: f32) -> u32 {
        if a == b || (a.is_nan() && b.is_nan()) {
            return 0;
        }
        assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a} and {b}");
        a.to_bits().abs_diff(b.to_bits())
    }

    /// Every 61st bit pattern (an odd step: it meets every exponent and mantissa residue) of
    /// the finite `f32`s of both signs whose value satisfies `keep`.
    fn sweep(keep: impl Fn(f32) -> bool) -> impl Iterator<Item = f32> {
        (0..=u32::MAX)
            .step_by(61)
            .map(f32::from_bits)
            .filter(move |v| v.is_finite() && keep(*v))
    }

    fn check(name: &str, ours: fn(f32) -> f32, exact: fn(f64) -> f64, domain: fn(f32) -> bool) {
        let (mut count, mut rounded, mut worst) = (0u64, 0u64, (0u32, 0f32));
        for x in sweep(domain) {
            let (got, want) = (ours(x), exact(f64::from(x)) as f32);
            let d = ulps(got, want);
            assert!(
                d <= 1,
                "{name}({x:e}) = {got:e}, libm {want:e}: {d} ulps apart"
            );
            count += 1;
            rounded += u64::from(d == 0);
            if d > worst.0 {
                worst = (d, x);
            }
        }
        let share = rounded as f64 / count as f64;
        eprintln!("{name}: {count} points, {share:.6} equal to libm's, worst {worst:?}");
        assert!(
            share >= 0.999,
            "{name}: only {share} of {count} correctly rounded"
        );
    }

    #[test]
    fn exp_is_within_one_ulp_of_the_rounded_exact_value() {
        check("exp", exp_f32, f64::exp, |x| x > -110.0 && x < 95.0);
    }

    #[test]
    fn ln_1p_is_within_one_ulp_of_the_rounded_exact_value() {
        check("ln_1p", ln_1p_f32, f64::ln_1p, |x| x > -1.0);
    }

    #[test]
    fn special_values_follow_libm() {
        let exp_cases = [
            (f32::INFINITY, f32::INFINITY),
            (f32::NEG_INFINITY, 0.0),
            (0.0, 1.0),
            (-0.0, 1.0),
            (89.0, f32::INFINITY),
            (88.8, f32::INFINITY),
            (-104.0, 0.0),
            (-1000.0, 0.0),
        ];
        for (x, want) in exp_cases {
            assert_eq!(exp_f32(x), want, "exp({x})");
        }
        assert!(exp_f32(f32::NAN).is_nan());
        // the largest finite result and a subnormal one, against libm
        for x in [88.72f32, 88.7228, -87.5, -100.0, -103.9] {
            assert_eq!(ulps(exp_f32(x), f64::from(x).exp() as f32), 0, "exp({x})");
        }
        let ln_1p_cases = [
            (f32::INFINITY, f32::INFINITY),
            (-1.0, f32::NEG_INFINITY),
            (1e-30, 1e-30),
            (-1e-30, -1e-30),
            (f32::MAX, f64::from(f32::MAX).ln_1p() as f32),
        ];
        for (x, want) in ln_1p_cases {
            assert_eq!(ln_1p_f32(x), want, "ln_1p({x})");
        }
        for x in [-1.5f32, f32::NEG_INFINITY, f32::NAN] {
            assert!(ln_1p_f32(x).is_nan(), "ln_1p({x})");
        }
        assert!(ln_1p_f32(0.0).to_bits() == 0 && ln_1p_f32(-0.0).to_bits() == (-0f32).to_bits());
    }

    /// The loop as the elementwise kernels run it ([`widest`]: vectorised when the CPU allows)
    /// gives the bits of the scalar calls.
    #[test]
    fn vectorised_loops_give_the_scalar_bits() {
        let x: Vec<f32> = sweep(|x| x.abs() < 200.0).step_by(997).collect();
        // generic, so that each function is inlined into its loop as in the kernels
        #[inline(always)]
        fn both(x: &[f32], f: impl Fn(f32) -> f32 + Copy) -> (Vec<u32>, Vec<u32>) {
            let scalar = x.iter().map(|&v| f(v).to_bits()).collect();
            let mut out = vec![0f32; x.len()];
            widest(
                #[inline(always)]
                || {
                    for (o, &v) in out.iter_mut().zip(x) {
                        *o = f(v);
                    }
                },
            );
            (scalar, out.iter().map(|v| v.to_bits()).collect())
        }
        let (scalar, wide) = both(&x, exp_f32);
        assert_eq!(scalar, wide, "exp");
        let (scalar, wide) = both(&x, ln_1p_f32);
        assert_eq!(scalar, wide, "ln_1p");
    }
}
