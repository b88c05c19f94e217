//! The forward's product written straight into the output. For a group of images the GEMM
//! computes `C = W · [col(x[n₀]) …]`, `o × (g·ho·wo)`, whose column `u` belongs to image
//! `b = u div (ho·wo)`; the output of the group is `[g, o, ho·wo]`. So element `(r, u)` of C is
//! `y[b, r, u mod (ho·wo)]`: within one image a tile of C is a strided block of `y` (row stride
//! `ho·wo`), and only a tile across images needs a detour through a local buffer. That spares
//! the group a C buffer and a pass that copies it into `y`.

use crate::float::Float;
use crate::kernels::gemm::{Step, Tile, TileTarget};

/// `C` of one group's forward product, `o × images·plane`, stored as `[images, o, plane]`.
pub(super) struct GroupedOutput<'a, F> {
    y: *mut F,
    o: usize,
    plane: usize,
    _y: std::marker::PhantomData<&'a mut [F]>,
}

// SAFETY: `y` is borrowed mutably for the target's lifetime, and the driver hands disjoint tiles
// to its tasks, which write disjoint elements of `y`.
unsafe impl<F: Send> Sync for GroupedOutput<'_, F> {}

impl<'a, F: Float> GroupedOutput<'a, F> {
    /// The target over `y` (`[images, o, plane]`; possibly uninitialised, when the product is
    /// computed with `β = 0`, which never reads it).
    pub(super) fn new(y: &'a mut [std::mem::MaybeUninit<F>], o: usize, plane: usize) -> Self {
        assert!(
            o * plane > 0 && y.len().is_multiple_of(o * plane),
            "{} values are not whole images of {o} × {plane}",
            y.len()
        );
        GroupedOutput {
            y: y.as_mut_ptr() as *mut F,
            o,
            plane,
            _y: std::marker::PhantomData,
        }
    }

    /// Where element (`r`, `u`) of C lives.
    fn at(&self, r: usize, u: usize) -> usize {
        (u / self.plane * self.o + r) * self.plane + u % self.plane
    }
}

/// Room for the widest micro-kernel tile (12 × 32).
const MAX_TILE: usize = 12 * 32;

impl<F: Float> TileTarget<F> for GroupedOutput<'_, F> {
    unsafe fn update(
        &self,
        step: &Step<F>,
        [row, col]: [usize; 2],
        [m, n]: [usize; 2],
        alpha: F,
        beta: F,
    ) {
        if col % self.plane + n <= self.plane {
            // one image: a strided block of y
            let tile = Tile {
                c: self.y.add(self.at(row, col)),
                rs: self.plane as isize,
                cs: 1,
                m,
                n,
                alpha,
                beta,
            };
            return step.run(&tile);
        }
        // Across images: through a buffer, loaded from `y` when β reads C (the K blocks after
        // the first accumulate: β = 1).
        assert!(
            m * n <= MAX_TILE,
            "a {m} × {n} tile is wider than any micro-kernel's"
        );
        let mut values = [F::zero(); MAX_TILE];
        let element = |i: usize, j: usize| self.y.add(self.at(row + i, col + j));
        if !beta.is_zero() {
            for (i, line) in values.chunks_exact_mut(n).take(m).enumerate() {
                for (j, v) in line.iter_mut().enumerate() {
                    *v = *element(i, j);
                }
            }
        }
        let tile = Tile {
            c: values.as_mut_ptr(),
            rs: n as isize,
            cs: 1,
            m,
            n,
            alpha,
            beta,
        };
        step.run(&tile);
        for (i, line) in values.chunks_exact(n).take(m).enumerate() {
            for (j, &v) in line.iter().enumerate() {
                *element(i, j) = v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The grouped target against the plain route: the same product into an `o × cols` matrix,
    //! then laid out image by image. Same micro-kernel and blocking, so bit for bit.
    use super::*;
    use crate::kernels::gemm::{self, Blocking, GemmScalar, Isa};
    use ndarray::Array2;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn check<F: Float>(seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        // planes narrower than a tile (tiles across three or more images) and wider ones
        let (o, k) = (rng.gen_range(1..=20), rng.gen_range(1..=40));
        let (plane, images) = (rng.gen_range(1..=40), rng.gen_range(1..=5));
        let cols = plane * images;
        let mut random = |r, c| {
            Array2::from_shape_simple_fn((r, c), || F::from(rng.gen_range(-1.0..1.0)).unwrap())
        };
        let (a, b) = (random(o, k), random(k, cols));
        for kernel in Isa::under_test()
            .into_iter()
            .filter_map(<F as GemmScalar>::kernel)
        {
            let small = Blocking {
                mc: kernel.mr,
                kc: 7,
                nc: kernel.nr,
            };
            for (blocking, threads) in [(kernel.blocking, 1), (small, 1), (small, 3)] {
                let mut c = Array2::from_elem((o, cols), F::nan());
                gemm::gemm_with(
                    &kernel,
                    blocking,
                    threads,
                    F::one(),
                    a.view(),
                    b.view(),
                    F::zero(),
                    c.view_mut(),
                );
                let mut y = vec![std::mem::MaybeUninit::new(F::nan()); o * cols];
                let target = GroupedOutput::new(&mut y, o, plane);
                let bv = b.view();
                // SAFETY: the target takes the whole o × cols product.
                unsafe {
                    gemm::gemm_to_target(
                        &kernel,
                        blocking,
                        threads,
                        F::one(),
                        a.view(),
                        &gemm::view_panels(&bv),
                        cols,
                        &target,
                    )
                };
                for ((r, u), &want) in c.indexed_iter() {
                    // SAFETY: initialised above.
                    let got = unsafe { y[(u / plane * o + r) * plane + u % plane].assume_init() };
                    assert!(
                        got.to_f64().unwrap().to_bits() == want.to_f64().unwrap().to_bits(),
                        "seed {seed} {:?} {blocking:?} threads {threads}: {o} × {k} · {k} × {images}·{plane}, \
                         element ({r}, {u}) is {got:?}, not {want:?}",
                        kernel.isa
                    );
                }
            }
        }
    }

    #[test]
    fn grouped_output_equals_the_product_laid_out_by_image() {
        for seed in 0..60 {
            check::<f32>(seed);
            check::<f64>(seed);
        }
    }
}
