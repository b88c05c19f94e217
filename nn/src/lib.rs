//! # nn
//!
//! Neural-network building blocks on the autograd tape: parameters that live outside tapes,
//! the [`Module`] trait with named parameters, layers, initialisers, losses, optimisers, data
//! sets and checkpoints.
//!
//! One training step:
//!
//! ```
//! use autograd::functional::{cross_entropy, Reduction};
//! use autograd::Tape;
//! use nn::{layers::{mlp, Activation}, Ctx, Module};
//! use rand::{rngs::StdRng, SeedableRng};
//!
//! let mut rng = StdRng::seed_from_u64(0);
//! let model = mlp::<f32>(&[4, 8, 3], Activation::Relu, true, &mut rng);
//! let tape = Tape::new();
//! let ctx = Ctx::train(&tape, 1);
//! let x = ctx.input(ndarray::Array2::<f32>::ones((2, 4)));
//! let loss = cross_entropy(model.forward(&ctx, x)?, &[0, 2], Reduction::Mean)?;
//! let grads = ctx.grads(loss)?;
//! assert_eq!(grads.len(), 4); // two weights, two biases
//! # Ok::<(), nn::Error>(())
//! ```

pub mod checkpoint;
pub mod ctx;
pub mod data;
pub mod error;
pub mod init;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod module;
pub mod optim;
pub mod param;
pub mod store;
pub mod train;

pub use ctx::{Ctx, Grads};
pub use error::{Error, Result};
pub use module::{Module, ModuleExt};
pub use param::{Param, ParamId};
