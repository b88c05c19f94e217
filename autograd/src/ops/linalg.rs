//! Matrix products, 2-D and batched, with optional transposition of either operand.
//!
//! `C = op_a(A) · op_b(B)` where `op(X)` is `X` or `Xᵀ` (the last two axes). Writing
//! `mm(X, tx, Y, ty) = op_x(X)·op_y(Y)`, the VJPs for a cotangent `G` of `C` are
//!
//! | `C`      | `Ā`              | `B̄`              |
//! |----------|------------------|------------------|
//! | `A B`    | `G Bᵀ` = mm(G,·,B,ᵀ) | `Aᵀ G` = mm(A,ᵀ,G,·) |
//! | `Aᵀ B`   | `B Gᵀ` = mm(B,·,G,ᵀ) | `A G`  = mm(A,·,G,·) |
//! | `A Bᵀ`   | `G B`  = mm(G,·,B,·) | `Gᵀ A` = mm(G,ᵀ,A,·) |
//! | `Aᵀ Bᵀ`  | `Bᵀ Gᵀ` = mm(B,ᵀ,G,ᵀ) | `Gᵀ Aᵀ` = mm(G,ᵀ,A,ᵀ) |
//!
//! so a backward pass is matmuls with flags: no transpose is ever materialised, and the VJP of
//! a VJP is again this op.

use ndarray::{Ix2, Ix3};

use crate::float::Float;
use crate::kernels::{product, product_batched};
use crate::ops::{Grads, Op, Vjp};
use crate::tape::Var;
use crate::{Error, Result};

/// `op_a(A) · op_b(B)`; `ta`/`tb` say whether the operand is transposed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatMul {
    ta: bool,
    tb: bool,
}

impl MatMul {
    pub(crate) fn vjp<'t, F: Float>(&self, v: &Vjp<'_, 't, F>) -> Result<Grads<'t, F>> {
        let (a, b, g) = (v.x[0], v.x[1], v.g);
        let (da, db) = match (self.ta, self.tb) {
            (false, false) => (
                v.grad_if(0, || g.matmul_t(b, false, true))?,
                v.grad_if(1, || a.matmul_t(g, true, false))?,
            ),
            (true, false) => (
                v.grad_if(0, || b.matmul_t(g, false, true))?,
                v.grad_if(1, || a.matmul_t(g, false, false))?,
            ),
            (false, true) => (
                v.grad_if(0, || g.matmul_t(b, false, false))?,
                v.grad_if(1, || g.matmul_t(a, true, false))?,
            ),
            (true, true) => (
                v.grad_if(0, || b.matmul_t(g, true, true))?,
                v.grad_if(1, || g.matmul_t(a, true, true))?,
            ),
        };
        Ok(vec![da, db])
    }
}

impl<'t, F: Float> Var<'t, F> {
    /// The matrix product `A · B`: 2-D × 2-D, batched 3-D × 3-D (equal batch), or 3-D × 2-D (one
    /// `B` shared by the whole batch).
    pub fn matmul(self, other: Var<'t, F>) -> Result<Var<'t, F>> {
        let (sa, sb) = (self.shape(), other.shape());
        if sa.len() == 3 && sb.len() == 2 {
            let flat = self.reshape(&[sa[0] * sa[1], sa[2]])?;
            let out = flat.matmul_t(other, false, false)?;
            return out.reshape(&[sa[0], sa[1], sb[1]]);
        }
        self.matmul_t(other, false, false)
    }

    /// `op_a(A) · op_b(B)` where `op(X) = Xᵀ` (last two axes) if its flag is set. Operands are
    /// 2-D, or 3-D with equal batch size. The transpose is read through strides, never copied.
    pub fn matmul_t(self, other: Var<'t, F>, ta: bool, tb: bool) -> Result<Var<'t, F>> {
        self.same_tape(&other, "matmul")?;
        let (a, b) = (self.value(), other.value());
        let (sa, sb) = (a.shape(), b.shape());
        let err = |reason: String| Error::shape("matmul", &[sa, sb], reason);
        let nd = sa.len();
        if !(nd == 2 || nd == 3) || sb.len() != nd {
            return Err(err(format!(
                "operands must both be 2-D or both 3-D (got {}-D and {}-D)",
                nd,
                sb.len()
            )));
        }
        if nd == 3 && sa[0] != sb[0] {
            return Err(err(format!("batch sizes differ: {} vs {}", sa[0], sb[0])));
        }
        // inner dimensions: columns of op(A), rows of op(B)
        let ka = if ta { sa[nd - 2] } else { sa[nd - 1] };
        let kb = if tb { sb[nd - 1] } else { sb[nd - 2] };
        if ka != kb {
            let what = |t: bool, name: &str| {
                if t {
                    format!("{name}ᵀ")
                } else {
                    name.to_string()
                }
            };
            return Err(err(format!(
                "inner dimensions of {}·{} differ: {ka} vs {kb}",
                what(ta, "A"),
                what(tb, "B")
            )));
        }
        let value = if nd == 2 {
            let a = a.view().into_dimensionality::<Ix2>().expect("2-D");
            let b = b.view().into_dimensionality::<Ix2>().expect("2-D");
            let a = if ta { a.reversed_axes() } else { a };
            let b = if tb { b.reversed_axes() } else { b };
            product(a, b).into_dyn()
        } else {
            let a = a.view().into_dimensionality::<Ix3>().expect("3-D");
            let b = b.view().into_dimensionality::<Ix3>().expect("3-D");
            let a = if ta { a.permuted_axes([0, 2, 1]) } else { a };
            let b = if tb { b.permuted_axes([0, 2, 1]) } else { b };
            product_batched(a, b).into_dyn()
        };
        Ok(self
            .tape
            .push_op(Op::MatMul(MatMul { ta, tb }), &[self, other], value))
    }
}
