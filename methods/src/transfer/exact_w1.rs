//! Exact `$W_{1}$` between equal-size uniform point clouds (an assignment problem, solved by the
//! Hungarian algorithm), and the cost `$\tilde{W}_{1}$` of the identity plan that L2-SP implies.

use ndarray::{Array2, ArrayView2};

use crate::{Error, Result};

/// An optimal matching of two clouds and its cost.
#[derive(Clone, Debug, PartialEq)]
pub struct W1Plan {
    /// `$W_{1}(\hat{P}, \hat{Q}) = \frac{1}{n} \sum_i \|p_i - q_{\sigma(i)}\|_{2}$`.
    pub value: f64,
    /// The optimal permutation `$\sigma$`: point `i` of the first cloud goes to point
    /// `matching[i]` of the second.
    pub matching: Vec<usize>,
}

/// Checks two clouds for the solvers: rows are points, both non-empty, the same number of
/// points and of coordinates, every value finite. `op` names the caller in the error.
fn validate(op: &str, p: ArrayView2<'_, f64>, q: ArrayView2<'_, f64>) -> Result<()> {
    let ((n, d), (m, e)) = (p.dim(), q.dim());
    if n == 0 || m == 0 {
        return Err(Error::config(
            op,
            format!("a cloud is empty ({n} and {m} points): W1 needs at least one point in each"),
        ));
    }
    if n != m {
        return Err(Error::config(
            op,
            format!(
                "the clouds have {n} and {m} points: this solver needs equal sizes (uniform weights \
                 1/n on both sides make the optimal plan a permutation); subsample the larger one"
            ),
        ));
    }
    if d != e {
        return Err(Error::config(
            op,
            format!("the points have {d} and {e} coordinates: they must live in one space"),
        ));
    }
    check_finite(op, "first", p)?;
    check_finite(op, "second", q)
}

fn check_finite(op: &str, name: &str, cloud: ArrayView2<'_, f64>) -> Result<()> {
    match cloud.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((i, j), v)) => Err(Error::config(
            op,
            format!("the {name} cloud has {v} at point {i}, coordinate {j}: values must be finite"),
        )),
        None => Ok(()),
    }
}

/// The Euclidean distance matrix `$C_{ij} = \|p_i - q_j\|_{2}$`, each squared norm summed
/// directly (not as `$\|p\|^2 + \|q\|^2 - 2 p \cdot q$`, which cancels for near points: equal
/// points are at distance exactly 0 here), in eight interleaved partial sums so that the
/// compiler keeps them in one vector register.
pub fn distance_matrix(p: ArrayView2<'_, f64>, q: ArrayView2<'_, f64>) -> Array2<f64> {
    const LANES: usize = 8;
    let (p, q) = (p.as_standard_layout(), q.as_standard_layout());
    let d = p.ncols();
    let (ps, qs) = (
        p.as_slice().expect("standard layout"),
        q.as_slice().expect("standard layout"),
    );
    let squared = |a: &[f64], b: &[f64]| -> f64 {
        let mut acc = [0.0; LANES];
        let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let tail: f64 = ac
            .remainder()
            .iter()
            .zip(bc.remainder())
            .map(|(x, y)| (x - y) * (x - y))
            .sum();
        for (x, y) in ac.zip(bc) {
            for k in 0..LANES {
                acc[k] += (x[k] - y[k]) * (x[k] - y[k]);
            }
        }
        acc.iter().sum::<f64>() + tail
    };
    Array2::from_shape_fn((p.nrows(), q.nrows()), |(i, j)| {
        squared(&ps[i * d..(i + 1) * d], &qs[j * d..(j + 1) * d]).sqrt()
    })
}

/// A minimum-cost perfect matching of a square cost matrix: returns `$\sigma$` minimising
/// `$\sum_i C_{i \sigma(i)}$`, in `$O(n^{3})$` time and `O(n)` memory beyond `C`.
///
/// The Hungarian algorithm (Kuhn 1955, Munkres 1957) in its shortest-augmenting-path form
/// (Jonker & Volgenant 1987; the variant of Crouse 2016 that SciPy's `linear_sum_assignment`
/// also uses): rows enter one at a time; with dual potentials `$u_i, v_j$` kept feasible
/// (`$u_i + v_j \le C_{ij}$`, equality on matched pairs), each new row is matched by a Dijkstra
/// search over the reduced costs `$C_{ij} - u_i - v_j \ge 0$` to the nearest free column, and
/// only the rows and columns the search reached get their potentials moved, once per row. At
/// the end `$\sum u + \sum v = \sum_i C_{i\sigma(i)}$` (LP duality), which certifies optimality
/// (the tests check the certificate). Errors on a non-square or empty matrix, or a non-finite
/// cost.
pub fn min_cost_assignment(cost: ArrayView2<'_, f64>) -> Result<Vec<usize>> {
    Ok(assignment_with_potentials(cost)?.matching)
}

/// An optimal matching with the dual potentials that certify it.
struct Certified {
    matching: Vec<usize>,
    /// `u_i`, one per row.
    #[cfg_attr(not(test), allow(dead_code))]
    u: Vec<f64>,
    /// `v_j`, one per column.
    #[cfg_attr(not(test), allow(dead_code))]
    v: Vec<f64>,
}

/// [`min_cost_assignment`] and its potentials `u, v`.
fn assignment_with_potentials(cost: ArrayView2<'_, f64>) -> Result<Certified> {
    const OP: &str = "min-cost assignment";
    const FREE: usize = usize::MAX;
    let (n, m) = cost.dim();
    if n == 0 || n != m {
        return Err(Error::config(
            OP,
            format!("needs a non-empty square cost matrix, got {n}×{m}"),
        ));
    }
    if cost.iter().any(|c| !c.is_finite()) {
        return Err(Error::config(OP, "every cost must be finite"));
    }
    // rows as contiguous slices (one copy when the view is not in standard layout)
    let owned;
    let c: &[f64] = match cost.as_slice() {
        Some(s) => s,
        None => {
            owned = cost.as_standard_layout().into_owned();
            owned.as_slice().expect("standard layout")
        }
    };
    let (mut u, mut v) = (vec![0.0; n], vec![0.0; n]);
    // `col_of[i]` the column matched to row i, `row_of[j]` the row matched to column j
    let mut col_of = vec![FREE; n];
    let mut row_of = vec![FREE; n];
    // per search: `dist[j]` the shortest reduced distance from the entering row to column j,
    // `prev[j]` the row it was reached from, `todo[..left]` the columns not yet scanned
    let mut dist = vec![0.0; n];
    let mut prev = vec![0usize; n];
    let mut todo: Vec<usize> = Vec::with_capacity(n);
    let mut row_seen = vec![false; n];
    let mut col_seen = vec![false; n];
    for entering in 0..n {
        dist.fill(f64::INFINITY);
        row_seen.fill(false);
        col_seen.fill(false);
        todo.clear();
        todo.extend(0..n);
        let mut left = n;
        let (mut i, mut reached) = (entering, 0.0);
        let sink = loop {
            row_seen[i] = true;
            let row = &c[i * n..(i + 1) * n];
            let base = reached - u[i];
            let (mut best, mut best_at) = (f64::INFINITY, 0);
            for (at, &j) in todo[..left].iter().enumerate() {
                let d = base + row[j] - v[j];
                if d < dist[j] {
                    dist[j] = d;
                    prev[j] = i;
                }
                // ties go to a free column: the search ends sooner
                if dist[j] < best || (dist[j] == best && row_of[j] == FREE) {
                    best = dist[j];
                    best_at = at;
                }
            }
            reached = best;
            let j = todo[best_at];
            col_seen[j] = true;
            left -= 1;
            todo.swap(best_at, left);
            if row_of[j] == FREE {
                break j;
            }
            i = row_of[j];
        };
        // potentials: every scanned row and column moves by how much nearer than the sink it
        // was reached, which keeps u + v ≤ C and makes the path's reduced costs 0
        u[entering] += reached;
        for r in 0..n {
            if row_seen[r] && r != entering {
                u[r] += reached - dist[col_of[r]];
            }
        }
        for j in 0..n {
            if col_seen[j] {
                v[j] -= reached - dist[j];
            }
        }
        // augment: flip the matched and unmatched edges along the path back to `entering`
        let mut j = sink;
        loop {
            let r = prev[j];
            row_of[j] = r;
            let next = std::mem::replace(&mut col_of[r], j);
            if r == entering {
                break;
            }
            j = next;
        }
    }
    Ok(Certified {
        matching: col_of,
        u,
        v,
    })
}

/// The exact 1-Wasserstein distance between the uniform distributions on two clouds of the same
/// size `n` (rows of `p` and `q`, points of `$\mathbb{R}^d$`):
///
/// `$W_{1}(\hat{P}, \hat{Q}) = \min_{\gamma} \sum_{ij} \gamma_{ij} \|p_i - q_j\|_{2}$` over plans
/// `$\gamma \ge 0$` with marginals `1/n` `$= \min_{\sigma} (1/n) \sum_i \|p_i -
/// q_{\sigma(i)}\|_{2}$` over permutations `$\sigma$`,
///
/// since the plans form the Birkhoff polytope (scaled by `1/n`), whose vertices are the
/// permutations, and a linear objective attains its minimum at a vertex. Solved by
/// [`min_cost_assignment`] on the distance matrix: `$O(n^{2} d + n^{3})$` time, `$O(n^{2})$`
/// memory, in `f64`.
///
/// Errors (never panics): an empty cloud, clouds of different sizes (this solver needs equal
/// ones), points of different dimensions, a NaN or infinite coordinate.
pub fn exact_w1(p: ArrayView2<'_, f64>, q: ArrayView2<'_, f64>) -> Result<W1Plan> {
    validate("exact W1", p, q)?;
    let cost = distance_matrix(p, q);
    let matching = min_cost_assignment(cost.view())?;
    // summed in matching order, then divided: the value of the plan the solver returned
    let total: f64 = matching
        .iter()
        .enumerate()
        .map(|(i, &j)| cost[[i, j]])
        .sum();
    Ok(W1Plan {
        value: total / p.nrows() as f64,
        matching,
    })
}

/// The cost of the identity plan `$\tilde{\gamma}$` that L2-SP implies (point `i` of the source
/// goes to point `i` of the target: the same neuron before and after fine-tuning):
///
/// ```math
/// \tilde{W}_{1}(\hat{P}, \hat{Q}) = \frac{1}{n} \sum_i \|p_i - q_i\|_{2} \ge W_{1}(\hat{P},
///   \hat{Q}),
/// ```
///
/// an upper bound because `$\tilde{\gamma}$` is one feasible plan (the seed's theorem). Note that
/// L2-SP's penalty `$\sum_i \|p_i - q_i\|^{2}$` is the squared-cost version of the same plan. Same
/// errors as [`exact_w1`].
pub fn identity_plan_cost(p: ArrayView2<'_, f64>, q: ArrayView2<'_, f64>) -> Result<f64> {
    validate("identity-plan cost W̃1", p, q)?;
    let total: f64 = p
        .rows()
        .into_iter()
        .zip(q.rows())
        .map(|(a, b)| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f64>()
                .sqrt()
        })
        .sum();
    Ok(total / p.nrows() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use rand_distr::StandardNormal;

    fn cloud(n: usize, d: usize, rng: &mut StdRng) -> Array2<f64> {
        Array2::from_shape_simple_fn((n, d), || rng.sample(StandardNormal))
    }

    /// Every permutation of `0..n` (Heap's algorithm).
    fn permutations(n: usize) -> Vec<Vec<usize>> {
        fn heap(k: usize, a: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            if k <= 1 {
                out.push(a.clone());
                return;
            }
            for i in 0..k {
                heap(k - 1, a, out);
                let j = if k.is_multiple_of(2) { i } else { 0 };
                a.swap(j, k - 1);
            }
        }
        let mut out = Vec::new();
        heap(n, &mut (0..n).collect(), &mut out);
        out
    }

    /// Against brute force over all `n!` permutations, n = 1 … 7, several clouds each, in
    /// dimensions 1, 2 and 5. Both sum the same `n` distances (in different orders): they agree
    /// to a few ulps of the total, far below 1e-12.
    #[test]
    fn matches_brute_force_up_to_seven_points() {
        let mut rng = StdRng::seed_from_u64(7);
        for n in 1..=7 {
            let perms = permutations(n);
            assert_eq!(perms.len(), (1..=n).product::<usize>());
            for d in [1, 2, 5] {
                for _ in 0..4 {
                    let (p, q) = (cloud(n, d, &mut rng), cloud(n, d, &mut rng));
                    let c = distance_matrix(p.view(), q.view());
                    let brute = perms
                        .iter()
                        .map(|s| s.iter().enumerate().map(|(i, &j)| c[[i, j]]).sum::<f64>())
                        .fold(f64::INFINITY, f64::min)
                        / n as f64;
                    let plan = exact_w1(p.view(), q.view()).unwrap();
                    assert!(
                        (plan.value - brute).abs() < 1e-12,
                        "n={n} d={d}: {} vs {brute}",
                        plan.value
                    );
                    let mut seen = plan.matching.clone();
                    seen.sort_unstable();
                    assert_eq!(seen, (0..n).collect::<Vec<_>>(), "not a permutation");
                }
            }
        }
    }

    /// Ties and degenerate costs: a cost matrix with many equal entries still gets an optimal
    /// matching (brute force on 6×6 integer costs in {0, 1, 2}).
    #[test]
    fn handles_ties() {
        let mut rng = StdRng::seed_from_u64(1);
        let perms = permutations(6);
        for _ in 0..20 {
            let c = Array2::from_shape_simple_fn((6, 6), || rng.gen_range(0..3) as f64);
            let s = min_cost_assignment(c.view()).unwrap();
            let got: f64 = s.iter().enumerate().map(|(i, &j)| c[[i, j]]).sum();
            let best = perms
                .iter()
                .map(|p| p.iter().enumerate().map(|(i, &j)| c[[i, j]]).sum::<f64>())
                .fold(f64::INFINITY, f64::min);
            assert_eq!(got, best, "{c}");
        }
    }

    /// The LP certificate at sizes brute force cannot reach: the potentials are feasible
    /// (`$u_i + v_j \le C_{ij}$`) and tight on the matching
    /// (`$u_i + v_{\sigma(i)} = C_{i\sigma(i)}$`), so `$\sum u + \sum v$`, a lower bound on every
    /// assignment's cost, equals the matching's cost. The potentials are sums of up to `n`
    /// distances of order 10, each addition rounding by ~1e-15 relative: 1e-9 absolute is far
    /// above that and far below any real slack.
    #[test]
    fn potentials_certify_optimality() {
        let mut rng = StdRng::seed_from_u64(5);
        for (n, d) in [(50, 2), (300, 8), (400, 64)] {
            let c = distance_matrix(cloud(n, d, &mut rng).view(), cloud(n, d, &mut rng).view());
            let Certified { matching, u, v } = assignment_with_potentials(c.view()).unwrap();
            let mut slack_min = f64::INFINITY;
            for i in 0..n {
                for j in 0..n {
                    slack_min = slack_min.min(c[[i, j]] - u[i] - v[j]);
                }
                assert!((c[[i, matching[i]]] - u[i] - v[matching[i]]).abs() < 1e-9);
            }
            assert!(
                slack_min > -1e-9,
                "n={n}: infeasible potentials, slack {slack_min}"
            );
            let cost: f64 = matching.iter().enumerate().map(|(i, &j)| c[[i, j]]).sum();
            let dual: f64 = u.iter().sum::<f64>() + v.iter().sum::<f64>();
            assert!(
                (cost - dual).abs() < 1e-9 * n as f64,
                "n={n}: {cost} vs {dual}"
            );
        }
    }

    /// A cloud and its translate by `a`: `$W_{1} = \|a\|$` exactly (the identity plan costs
    /// `$\|a\|$`, and the potential `$f(x) = \langle a, x\rangle/\|a\|$` gives the dual lower bound
    /// `$\|a\|$`). The rounding of `$q_i = p_i + a$` and of the distances leaves ~1e-15 relative.
    #[test]
    fn translates_are_at_distance_norm_a() {
        let mut rng = StdRng::seed_from_u64(2);
        for (n, d) in [(10, 2), (50, 3), (200, 8)] {
            let p = cloud(n, d, &mut rng);
            let a: Array1<f64> = Array1::from_shape_simple_fn(d, || rng.sample(StandardNormal));
            let q = &p + &a;
            let norm = a.dot(&a).sqrt();
            let plan = exact_w1(p.view(), q.view()).unwrap();
            assert!(
                (plan.value - norm).abs() < 1e-12 * norm.max(1.0),
                "{} vs {norm}",
                plan.value
            );
            let tilde = identity_plan_cost(p.view(), q.view()).unwrap();
            assert!((tilde - norm).abs() < 1e-12 * norm.max(1.0));
        }
    }

    /// `$W_{1} \le \tilde{W}_{1}$`, and a shuffled copy of a cloud is at distance 0 (σ undoes the
    /// shuffle) while its identity plan is not.
    #[test]
    fn identity_plan_is_an_upper_bound() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..20 {
            let (p, q) = (cloud(30, 3, &mut rng), cloud(30, 3, &mut rng));
            let w1 = exact_w1(p.view(), q.view()).unwrap().value;
            assert!(w1 <= identity_plan_cost(p.view(), q.view()).unwrap() + 1e-12);
        }
        let p = cloud(20, 2, &mut rng);
        let shuffled = p.select(ndarray::Axis(0), &(0..20).rev().collect::<Vec<_>>());
        assert_eq!(exact_w1(p.view(), shuffled.view()).unwrap().value, 0.0);
        assert!(identity_plan_cost(p.view(), shuffled.view()).unwrap() > 0.1);
    }

    #[test]
    fn bad_clouds_are_clear_errors() {
        let two = array![[0.0, 1.0], [2.0, 3.0]];
        let three = array![[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]];
        let empty = Array2::<f64>::zeros((0, 2));
        let other_dim = array![[0.0], [1.0]];
        let nan = array![[0.0, f64::NAN], [2.0, 3.0]];
        let msg = |p: &Array2<f64>, q: &Array2<f64>| {
            exact_w1(p.view(), q.view()).unwrap_err().to_string()
        };
        assert!(
            msg(&two, &three).contains("2 and 3 points"),
            "{}",
            msg(&two, &three)
        );
        assert!(msg(&empty, &empty).contains("empty"));
        assert!(msg(&two, &other_dim).contains("coordinates"));
        assert!(
            msg(&two, &nan).contains("NaN at point 0, coordinate 1"),
            "{}",
            msg(&two, &nan)
        );
        assert!(identity_plan_cost(two.view(), three.view()).is_err());
        assert!(min_cost_assignment(Array2::<f64>::zeros((2, 3)).view()).is_err());
    }

    /// The solver's time for n = 100, 500, 1000 points in 2-D (the issue asks for these
    /// numbers): `cargo test -p methods --release --lib exact_w1::tests::timing -- --ignored
    /// --nocapture`.
    #[test]
    #[ignore = "timing, run by hand"]
    fn timing() {
        let mut rng = StdRng::seed_from_u64(4);
        for n in [100, 500, 1000] {
            let (p, q) = (cloud(n, 2, &mut rng), cloud(n, 2, &mut rng));
            let start = std::time::Instant::now();
            let plan = exact_w1(p.view(), q.view()).unwrap();
            println!(
                "n = {n:5}: {:.3} s (W1 = {:.4})",
                start.elapsed().as_secs_f64(),
                plan.value
            );
        }
    }
}
