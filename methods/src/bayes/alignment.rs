//! Architecture alignment: neuron removal `$\varphi(t, u)$` and layer removal `$\psi(t)$` on a
//! no-bias MLP's weight vector, their composition, and the plan that reaches a student's shape.
//!
//! Layout. A no-bias MLP `$[n_0, \dots, n_T]$` has weight matrices `$U_1, \dots, U_T$`, `$U_t$` of
//! shape `$n_t \times n_{t-1}$` (`[out, in]`). Its weight vector `u` is the concatenation of the
//! row-major `$U_1, \dots, U_T$` (the order of `nn`'s parameters). The seed writes `$u =
//! \operatorname{vec} (U_T, \dots, U_1)$`: a permutation of ours, and Gaussian conditioning
//! commutes with permutations. In code layers are 0-based: layer `l` is the seed's `$U_{l+1}$`;
//! hidden layer `h` (`$0 \le h < T - 1$`) is the output of layer `h` and the input of layer `h +
//! 1`.

use std::collections::BTreeMap;

use crate::{Error, Result};

/// The offset of each layer's weights in `u` and the total length.
pub fn layer_offsets(sizes: &[usize]) -> (Vec<usize>, usize) {
    let mut offsets = Vec::with_capacity(sizes.len().saturating_sub(1));
    let mut total = 0;
    for w in sizes.windows(2) {
        offsets.push(total);
        total += w[0] * w[1];
    }
    (offsets, total)
}

/// One removal, in the coordinates of the current (partly aligned) network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removal {
    /// `$\varphi$`: the neurons `neurons` of the output of layer `layer` (0-based) are removed —
    /// rows `neurons` of `U_layer` and columns `neurons` of `U_{layer+1}` are conditioned on 0. The
    /// seed's `$\varphi(t, u)$` removes one neuron; a set is that removal repeated (conditioning
    /// composes).
    Neurons {
        /// The layer whose outputs lose neurons (`$0 \le \mathrm{layer} < T - 1$`: not the output
        /// layer).
        layer: usize,
        /// The neurons, indices into the current outputs of `layer`, distinct.
        neurons: Vec<usize>,
    },
    /// `$\psi$`: layer `layer` (0-based), square in its current shape, is conditioned on the
    /// identity and disappears; the layers before and after it become adjacent.
    Layer {
        /// `$1 \le \mathrm{layer} \le T - 2$`: not the first (its input has no `$\sigma$` in front,
        /// so `$\sigma(x) \ne x$`) and not the last (its output has no `$\sigma$` after it).
        layer: usize,
    },
}

/// Removals applied so far: for each current layer, which teacher layer, rows and columns it
/// keeps, and every teacher weight fixed so far with its value.
#[derive(Clone, Debug)]
pub struct Alignment {
    teacher: Vec<usize>,
    teacher_offsets: Vec<usize>,
    /// Per current layer: its teacher layer.
    layers: Vec<usize>,
    /// Per current layer: the teacher rows (outputs) kept, ascending.
    rows: Vec<Vec<usize>>,
    /// Per current layer: the teacher columns (inputs) kept, ascending.
    cols: Vec<Vec<usize>>,
    /// Teacher weight index → the value it is conditioned on.
    fixed: BTreeMap<usize, f64>,
    idempotent: bool,
}

impl Alignment {
    /// The teacher `$[n_0, \dots, n_T]$` before any removal. `idempotent_activation` says whether
    /// the activation satisfies `$\sigma \circ \sigma = \sigma$` (ReLU does): layer removal needs
    /// it.
    pub fn new(teacher: &[usize], idempotent_activation: bool) -> Result<Self> {
        if teacher.len() < 2 || teacher.contains(&0) {
            return Err(Error::config(
                "architecture alignment",
                format!("the teacher's sizes must be ≥ 2 positive numbers, got {teacher:?}"),
            ));
        }
        let t = teacher.len() - 1;
        Ok(Alignment {
            teacher: teacher.to_vec(),
            teacher_offsets: layer_offsets(teacher).0,
            layers: (0..t).collect(),
            rows: (0..t).map(|l| (0..teacher[l + 1]).collect()).collect(),
            cols: (0..t).map(|l| (0..teacher[l]).collect()).collect(),
            fixed: BTreeMap::new(),
            idempotent: idempotent_activation,
        })
    }

    /// The teacher's sizes.
    pub fn teacher(&self) -> &[usize] {
        &self.teacher
    }

    /// The current sizes `$[n_0, \dots]$`.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s = vec![self.cols[0].len()];
        s.extend(self.rows.iter().map(Vec::len));
        s
    }

    /// Per current layer: (teacher layer, kept teacher rows, kept teacher columns).
    pub fn layers(&self) -> impl Iterator<Item = (usize, &[usize], &[usize])> {
        self.layers
            .iter()
            .zip(&self.rows)
            .zip(&self.cols)
            .map(|((&l, r), c)| (l, r.as_slice(), c.as_slice()))
    }

    /// The teacher layers removed by `$\psi$` so far, ascending.
    pub fn removed_layers(&self) -> Vec<usize> {
        let t = self.teacher.len() - 1;
        (0..t).filter(|l| !self.layers.contains(l)).collect()
    }

    fn error(&self, reason: String) -> Error {
        Error::Alignment {
            teacher: self.teacher.clone(),
            student: self.sizes(),
            reason,
        }
    }

    fn index(&self, layer: usize, row: usize, col: usize) -> usize {
        self.teacher_offsets[layer] + row * self.teacher[layer] + col
    }

    /// Applies one removal (see [`Removal`] for what each does and when it is allowed).
    pub fn apply(&mut self, removal: &Removal) -> Result<()> {
        let t = self.layers.len();
        match removal {
            Removal::Neurons { layer, neurons } => {
                let l = *layer;
                if l + 1 >= t {
                    return Err(self.error(format!(
                        "neuron removal φ at layer {l}: only hidden layers lose neurons (layers \
                         0..{} of this {t}-layer network)",
                        t.saturating_sub(1)
                    )));
                }
                let width = self.rows[l].len();
                let mut drop = vec![false; width];
                for &j in neurons {
                    if j >= width || std::mem::replace(&mut drop[j], true) {
                        return Err(self.error(format!(
                            "neuron removal φ at layer {l}: neuron {j} is out of range 0..{width} \
                             or listed twice"
                        )));
                    }
                }
                if neurons.len() >= width {
                    return Err(self.error(format!(
                        "neuron removal φ at layer {l}: removing all {width} neurons leaves none"
                    )));
                }
                let (tl, tn) = (self.layers[l], self.layers[l + 1]);
                for &j in neurons {
                    let neuron = self.rows[l][j];
                    for &c in &self.cols[l] {
                        self.fixed.insert(self.index(tl, neuron, c), 0.0);
                    }
                    for &r in &self.rows[l + 1] {
                        self.fixed.insert(self.index(tn, r, neuron), 0.0);
                    }
                }
                let keep = |v: &Vec<usize>| -> Vec<usize> {
                    v.iter()
                        .enumerate()
                        .filter(|(j, _)| !drop[*j])
                        .map(|(_, &x)| x)
                        .collect()
                };
                self.rows[l] = keep(&self.rows[l]);
                self.cols[l + 1] = keep(&self.cols[l + 1]);
            }
            Removal::Layer { layer } => {
                let l = *layer;
                if l == 0 || l + 1 >= t {
                    return Err(self.error(format!(
                        "layer removal ψ at layer {l}: only layers 1..={} of this {t}-layer \
                         network can go (the first has no σ before it, the last none after it)",
                        t.saturating_sub(2)
                    )));
                }
                if !self.idempotent {
                    return Err(self.error(format!(
                        "layer removal ψ at layer {l} needs σ ∘ σ = σ (ReLU); this activation \
                         is not idempotent, so U = I would change the network's function"
                    )));
                }
                let (out, inp) = (self.rows[l].len(), self.cols[l].len());
                if out != inp {
                    return Err(self.error(format!(
                        "layer removal ψ at layer {l} needs n_t = n_(t−1), but it maps {inp} to \
                         {out} neurons (remove neurons first)"
                    )));
                }
                let tl = self.layers[l];
                for (i, &r) in self.rows[l].iter().enumerate() {
                    for (k, &c) in self.cols[l].iter().enumerate() {
                        let v = if i == k { 1.0 } else { 0.0 };
                        self.fixed.insert(self.index(tl, r, c), v);
                    }
                }
                self.layers.remove(l);
                self.rows.remove(l);
                self.cols.remove(l);
            }
        }
        Ok(())
    }

    /// The teacher weight indices still present, ascending: the student's weight vector `w`
    /// is `u` at these indices, in this order (each kept layer stays row-major).
    pub fn kept(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for ((&l, rows), cols) in self.layers.iter().zip(&self.rows).zip(&self.cols) {
            for &r in rows {
                out.extend(cols.iter().map(|&c| self.index(l, r, c)));
            }
        }
        out
    }

    /// The removed teacher weight indices (ascending) and the values they are conditioned
    /// on: 0 for the weights of removed neurons, `vec(I)` for removed layers (0 also for the
    /// entries of a removed layer that belonged to neurons removed before).
    pub fn removed(&self) -> (Vec<usize>, Vec<f64>) {
        let kept = self.kept();
        let total = layer_offsets(&self.teacher).1;
        let mut is_kept = vec![false; total];
        for &j in &kept {
            is_kept[j] = true;
        }
        let idx: Vec<usize> = (0..total).filter(|&j| !is_kept[j]).collect();
        let values = idx
            .iter()
            .map(|j| *self.fixed.get(j).expect("every removed weight is fixed"))
            .collect();
        (idx, values)
    }
}

/// Scores of the teacher's hidden neurons: `scores[h][j]` for neuron `j` of hidden layer `h`;
/// a higher score is removed first (see `super::orders`).
pub type NeuronScores = Vec<Vec<f64>>;

/// The removals that turn the teacher `$[n_0, \dots, n_T]$` into the student `$[m_0, \dots, m_L]$`.
///
/// Which sequences exist: removals never add layers or neurons, `$n_0 = m_0$` and `$n_T = m_L$`.
/// Each student hidden layer stands for a run of consecutive teacher hidden layers: the first
/// of the run is kept, the others disappear by layer removal `$\psi$` (which merges a hidden layer
/// into the one before it, so the runs cover all teacher hidden layers in order, the first
/// run starting at hidden layer 0). A run reaches the student's width `g` when every member
/// has at least `g` neurons: each is shrunk to `g` by neuron removal `$\varphi$`, then the square
/// layers between members are removed. Among the feasible partitions into runs the first in
/// lexicographic order of the run lengths is taken (runs as short as possible from the
/// input side; the seed's examples have exactly one).
///
/// Within a teacher hidden layer the neurons with the highest `scores` are removed (ties: the
/// lower index first). The plan: all neuron removals (one [`Removal::Neurons`] per teacher
/// hidden layer that shrinks), then the layer removals from the output side back, so earlier
/// indices stay valid.
///
/// Errors ([`Error::Alignment`]) name the reason: an input or output size that differs, more
/// hidden layers in the student, a layer removal needed with a non-idempotent activation, or
/// no partition whose runs are wide enough.
pub fn plan(
    teacher: &[usize],
    student: &[usize],
    idempotent_activation: bool,
    scores: &NeuronScores,
) -> Result<Vec<Removal>> {
    let fail = |reason: String| Error::Alignment {
        teacher: teacher.to_vec(),
        student: student.to_vec(),
        reason,
    };
    if teacher.len() < 2 || student.len() < 2 {
        return Err(fail(
            "both need at least an input and an output size".into(),
        ));
    }
    if teacher[0] != student[0] || teacher.last() != student.last() {
        return Err(fail(
            "removals keep the input and the output sizes: they must be equal".into(),
        ));
    }
    let hidden_t = &teacher[1..teacher.len() - 1];
    let hidden_s = &student[1..student.len() - 1];
    if hidden_s.len() > hidden_t.len() {
        return Err(fail(format!(
            "the student has {} hidden layers, the teacher {}: removals cannot add layers",
            hidden_s.len(),
            hidden_t.len()
        )));
    }
    if hidden_s.is_empty() != hidden_t.is_empty() {
        return Err(fail(
            "a teacher with hidden layers cannot lose all of them (the first hidden layer is \
             never removed by ψ)"
                .into(),
        ));
    }
    if hidden_s.len() < hidden_t.len() && !idempotent_activation {
        return Err(fail(
            "fewer hidden layers needs layer removal ψ, which needs σ ∘ σ = σ (ReLU)".into(),
        ));
    }
    if scores.len() != hidden_t.len() || scores.iter().zip(hidden_t).any(|(s, &n)| s.len() != n) {
        return Err(fail(format!(
            "neuron scores must have one entry per teacher hidden neuron ({hidden_t:?})"
        )));
    }
    let runs = first_partition(hidden_t, hidden_s).ok_or_else(|| {
        fail(format!(
            "no removal sequence reaches it: the teacher's hidden layers {hidden_t:?} cannot be \
             split into {} consecutive runs whose every layer is at least as wide as the \
             student's {hidden_s:?}",
            hidden_s.len()
        ))
    })?;
    let mut out = Vec::new();
    let mut start = 0;
    let mut layer_removals = Vec::new();
    for (&len, &g) in runs.iter().zip(hidden_s) {
        for h in start..start + len {
            let excess = hidden_t[h] - g;
            if excess > 0 {
                let mut order: Vec<usize> = (0..hidden_t[h]).collect();
                // highest score first, ties by index; NaN scores sort as the highest
                order.sort_by(|&a, &b| {
                    let (x, y) = (scores[h][a], scores[h][b]);
                    y.partial_cmp(&x)
                        .unwrap_or_else(|| x.is_nan().cmp(&y.is_nan()).reverse())
                        .then(a.cmp(&b))
                });
                let mut neurons = order[..excess].to_vec();
                neurons.sort_unstable();
                out.push(Removal::Neurons { layer: h, neurons });
            }
            if h > start {
                layer_removals.push(h);
            }
        }
        start += len;
    }
    out.extend(
        layer_removals
            .into_iter()
            .rev()
            .map(|layer| Removal::Layer { layer }),
    );
    Ok(out)
}

/// The first (lexicographic in run lengths) split of `hidden_t` into `hidden_s.len()`
/// consecutive runs with `$\min(\mathrm{run}) \ge \mathrm{hidden}_s[k]$`, as run lengths.
fn first_partition(hidden_t: &[usize], hidden_s: &[usize]) -> Option<Vec<usize>> {
    fn go(t: &[usize], s: &[usize], acc: &mut Vec<usize>) -> bool {
        if s.is_empty() {
            return t.is_empty();
        }
        for len in 1..=t.len() - (s.len() - 1) {
            if t[..len].iter().all(|&n| n >= s[0]) {
                acc.push(len);
                if go(&t[len..], &s[1..], acc) {
                    return true;
                }
                acc.pop();
            }
        }
        false
    }
    let mut acc = Vec::new();
    go(hidden_t, hidden_s, &mut acc).then_some(acc)
}

/// Applies `removals` to the teacher `$[n_0, \dots, n_T]$` in order: the alignment whose
/// [`Alignment::kept`] and [`Alignment::removed`] define the conditioning.
pub fn align(
    teacher: &[usize],
    removals: &[Removal],
    idempotent_activation: bool,
) -> Result<Alignment> {
    let mut a = Alignment::new(teacher, idempotent_activation)?;
    for r in removals {
        a.apply(r)?;
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zero_scores(hidden: &[usize]) -> NeuronScores {
        hidden.iter().map(|&n| vec![0.0; n]).collect()
    }

    #[test]
    fn the_seeds_alignments_reach_their_students() {
        let cases: [(&[usize], &[usize], usize); 3] = [
            (&[10, 100, 50, 1], &[10, 10, 10, 1], 210),
            (&[10, 100, 50, 1], &[10, 50, 1], 550),
            (&[784, 800, 50, 10], &[784, 50, 10], 39_700),
        ];
        for (teacher, student, params) in cases {
            let scores = zero_scores(&teacher[1..teacher.len() - 1]);
            let removals = plan(teacher, student, true, &scores).unwrap();
            let a = align(teacher, &removals, true).unwrap();
            assert_eq!(a.sizes(), student);
            let kept = a.kept();
            assert_eq!(kept.len(), params);
            let (removed, values) = a.removed();
            assert_eq!(kept.len() + removed.len(), layer_offsets(teacher).1);
            // layer removal fixes one identity entry per surviving neuron of the square layer
            let ones = values.iter().filter(|&&v| v == 1.0).count();
            let expected = if teacher.len() > student.len() { 50 } else { 0 };
            assert_eq!(ones, expected, "{teacher:?} → {student:?}");
            assert!(values.iter().all(|&v| v == 0.0 || v == 1.0));
        }
    }

    /// `[2, 3, 3, 1]`: drop neuron 1 of both hidden layers, then the square middle layer.
    /// The teacher's weights: layer 0 (3×2) at 0..6, layer 1 (3×3) at 6..15, layer 2 (1×3)
    /// at 15..18. Kept: layer 0 rows {0, 2} (0, 1, 4, 5), layer 2 column {0, 2} (15, 17).
    /// Layer 1's kept block rows {0, 2} × cols {0, 2} is I: indices 6 and 14 are 1, 8 and 12
    /// are 0; the rest of layer 1 belonged to the removed neurons: 0.
    #[test]
    fn a_small_alignment_by_hand() {
        let removals = vec![
            Removal::Neurons {
                layer: 0,
                neurons: vec![1],
            },
            Removal::Neurons {
                layer: 1,
                neurons: vec![1],
            },
            Removal::Layer { layer: 1 },
        ];
        let a = align(&[2, 3, 3, 1], &removals, true).unwrap();
        assert_eq!(a.sizes(), vec![2, 2, 1]);
        assert_eq!(a.kept(), vec![0, 1, 4, 5, 15, 17]);
        let (removed, values) = a.removed();
        assert_eq!(removed, vec![2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16]);
        let ones: Vec<usize> = removed
            .iter()
            .zip(&values)
            .filter(|(_, &v)| v == 1.0)
            .map(|(&j, _)| j)
            .collect();
        assert_eq!(ones, vec![6, 14]);
    }

    #[test]
    fn impossible_alignments_are_clear_errors() {
        let t = [10, 100, 50, 1];
        let s = zero_scores(&[100, 50]);
        let msg =
            |student: &[usize], idem: bool| plan(&t, student, idem, &s).unwrap_err().to_string();
        assert!(msg(&[10, 60, 1], true).contains("cannot be split"));
        assert!(msg(&[10, 10, 10, 10, 1], true).contains("cannot add layers"));
        assert!(msg(&[11, 10, 10, 1], true).contains("input and the output"));
        assert!(msg(&[10, 50, 1], false).contains("σ ∘ σ = σ"));
        assert!(msg(&[10, 1], true).contains("cannot lose all"));
        // ψ on a non-square layer, and on the first layer
        let mut a = Alignment::new(&t, true).unwrap();
        let e = a
            .apply(&Removal::Layer { layer: 1 })
            .unwrap_err()
            .to_string();
        assert!(e.contains("n_t = n_(t−1)"), "{e}");
        let e = a
            .apply(&Removal::Layer { layer: 0 })
            .unwrap_err()
            .to_string();
        assert!(e.contains("only layers 1..=1"), "{e}");
        let e = a
            .apply(&Removal::Neurons {
                layer: 2,
                neurons: vec![0],
            })
            .unwrap_err()
            .to_string();
        assert!(e.contains("only hidden layers"), "{e}");
    }

    #[test]
    fn the_highest_scores_go_first() {
        let scores = vec![vec![0.1, 5.0, 0.3, 4.0]];
        let removals = plan(&[2, 4, 1], &[2, 2, 1], true, &scores).unwrap();
        assert_eq!(
            removals,
            vec![Removal::Neurons {
                layer: 0,
                neurons: vec![1, 3]
            }]
        );
    }
}
