//! The `Module` trait: a forward pass on a [`Ctx`] and named parameters.

use autograd::{Float, Var};

use crate::ctx::Ctx;
use crate::param::Param;
use crate::Result;

/// A piece of a model. Parameters are reached by visiting them with their names
/// (`"0.weight"`, `"encoder.1.bias"`): optimisers, checkpoints, freezing and parameter counts
/// all go through [`Module::visit_params`] and [`Module::visit_params_mut`].
pub trait Module<F: Float> {
    /// The forward pass of input `x`, with parameters bound through `ctx`.
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> Result<Var<'t, F>>;

    /// Calls `f(name, param)` for every parameter, names relative to this module.
    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<F>));

    /// Calls `f(name, param)` for every parameter, mutably.
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<F>));
}

/// Conveniences over any module, all built on the visitors.
pub trait ModuleExt<F: Float>: Module<F> {
    /// The number of scalars in all parameters (frozen ones included).
    fn param_count(&self) -> usize {
        let mut n = 0;
        self.visit_params(&mut |_, p| n += p.numel());
        n
    }

    /// The names of all parameters, in visiting order.
    fn param_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.visit_params(&mut |name, _| names.push(name.to_string()));
        names
    }

    /// Freezes (`true`) or unfreezes every parameter.
    fn set_frozen(&mut self, frozen: bool) {
        self.visit_params_mut(&mut |_, p| p.frozen = frozen);
    }
}

impl<F: Float, M: Module<F> + ?Sized> ModuleExt<F> for M {}

/// Visits `child`'s parameters with names prefixed by `prefix.`.
pub fn visit_child<F: Float>(
    prefix: &str,
    child: &dyn Module<F>,
    f: &mut dyn FnMut(&str, &Param<F>),
) {
    child.visit_params(&mut |name, p| f(&format!("{prefix}.{name}"), p));
}

/// Mutable twin of [`visit_child`].
pub fn visit_child_mut<F: Float>(
    prefix: &str,
    child: &mut dyn Module<F>,
    f: &mut dyn FnMut(&str, &mut Param<F>),
) {
    child.visit_params_mut(&mut |name, p| f(&format!("{prefix}.{name}"), p));
}
