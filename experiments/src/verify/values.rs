//! The seeded random stream of each check. (The values inside ops' domains are drawn by
//! `autograd::op_table::values`.)

use rand::rngs::StdRng;

use crate::experiment::seed_stream;

/// The seed every check's inputs derive from (with the check's name as the stream).
pub const SEED: u64 = 20_240_601;

/// The random stream of the check called `name`.
pub fn rng_for(name: &str) -> StdRng {
    seed_stream(SEED, name)
}
