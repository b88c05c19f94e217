//! `fma_peak_f32`: the machine's `f32` FMA peak, measured by the benchmark itself, so that
//! `benches/compare.py` can give each GFLOP/s figure as a share of the peak read in the same
//! run. A host's speed moves from minute to minute (up to 10 % on the machines of
//! `docs/performance.md`), so a peak read at another time is not the peak of that figure.
//!
//! The loop of `benches/fma_peak.c`: on every thread of the pool, [`CHAINS`] independent chains
//! of `a ← a·m + c`, enough to hide the FMA latency, in the widest vectors the kernels use
//! (`autograd`'s GEMM path: 16 lanes with AVX-512, 8 with AVX2 and FMA). On a CPU with neither
//! the loop is portable code (`mul_add` on 16-lane arrays, as the compiler builds it for the
//! target): its rate, not a peak.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
use std::hint::black_box;

use autograd::kernels::gemm::Isa;

use super::{Metric, Prepared};

/// Independent accumulator chains per thread: an FMA's latency (4 cycles) times the FMAs a
/// core issues per cycle (2), with room to spare, as in `fma_peak.c`.
const CHAINS: usize = 12;

/// Rounds of the [`CHAINS`] FMAs per thread and call: 384 MFLOP per thread with AVX-512, a
/// couple of milliseconds.
const ROUNDS: usize = 1_000_000;

/// One call: every thread of the pool runs [`ROUNDS`] rounds of its chains at once. Metric:
/// GFLOP/s of the whole pool, two per lane and FMA.
pub(super) fn fma_peak_f32() -> Prepared {
    let threads = rayon::current_num_threads();
    let isa = Isa::best();
    let flop = (threads * CHAINS * lanes(isa) * 2 * ROUNDS) as f64;
    Prepared {
        step: Box::new(move || {
            rayon::broadcast(|_| black_box(chains(isa, ROUNDS, black_box(1.0), black_box(1.0))));
        }),
        metric: Metric::PerSecond {
            unit: "GFLOP/s",
            count: flop / 1e9,
        },
    }
}

/// `f32` lanes of one FMA on this path.
fn lanes(isa: Isa) -> usize {
    match isa {
        Isa::Avx512 | Isa::Portable => 16,
        Isa::Avx2Fma => 8,
    }
}

/// Runs `rounds` rounds of `a ← a·m + c` on [`CHAINS`] vectors of [`lanes`] lanes, chain `i`
/// starting at `i` in every lane, and returns the sum of every lane of every chain (so that the
/// work is used, and so that a test can check how much of it was done). `m` and `c` come in as
/// arguments, so that the compiler cannot simplify the FMA for known constants (`a·1 + c` into
/// an addition, one FLOP where two are counted).
fn chains(isa: Isa, rounds: usize, m: f32, c: f32) -> f32 {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::best` (or the test) chose this path only where the CPU has AVX-512F.
        Isa::Avx512 => unsafe { chains_avx512(rounds, m, c) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, AVX2 and FMA.
        Isa::Avx2Fma => unsafe { chains_avx2(rounds, m, c) },
        _ => chains_portable(rounds, m, c),
    }
}

/// One vector path of [`chains`]: `$vec` of `$lanes` lanes, with the CPU features `$features`.
macro_rules! vector_chains {
    ($name:ident, $features:literal, $vec:ty, $lanes:literal, $set1:ident, $fmadd:ident, $storeu:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        fn $name(rounds: usize, m: f32, c: f32) -> f32 {
            let (mv, cv) = ($set1(m), $set1(c));
            let mut acc: [$vec; CHAINS] = std::array::from_fn(|i| $set1(i as f32));
            for _ in 0..rounds {
                for a in &mut acc {
                    *a = $fmadd(*a, mv, cv);
                }
            }
            let mut lanes = [0f32; $lanes];
            let mut sum = 0.0;
            for a in acc {
                // SAFETY: as many lanes stored as `lanes` holds.
                unsafe { $storeu(lanes.as_mut_ptr(), a) };
                sum += lanes.iter().sum::<f32>();
            }
            sum
        }
    };
}

vector_chains!(
    chains_avx512,
    "avx512f",
    __m512,
    16,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_storeu_ps
);
vector_chains!(
    chains_avx2,
    "avx2,fma",
    __m256,
    8,
    _mm256_set1_ps,
    _mm256_fmadd_ps,
    _mm256_storeu_ps
);

fn chains_portable(rounds: usize, m: f32, c: f32) -> f32 {
    let mut acc = [[0f32; 16]; CHAINS];
    for (i, chain) in acc.iter_mut().enumerate() {
        chain.fill(i as f32);
    }
    for _ in 0..rounds {
        for chain in &mut acc {
            for a in chain.iter_mut() {
                *a = a.mul_add(m, c);
            }
        }
    }
    acc.iter().flatten().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With `m = c = 1` every chain counts its rounds exactly (`f32` holds the integers up to
    /// 2²⁴), so the sum tells whether each path ran every round on every chain and lane: the
    /// FLOP its figure counts. Every path this CPU has.
    #[test]
    fn every_chain_runs_every_round() {
        let rounds = 1000;
        for isa in Isa::ALL.into_iter().filter(|isa| isa.available()) {
            let per_lane: usize = (0..CHAINS).map(|i| i + rounds).sum();
            assert_eq!(
                chains(isa, rounds, 1.0, 1.0),
                (lanes(isa) * per_lane) as f32,
                "{isa:?}"
            );
        }
    }
}
