//! The two domains of `transfer`: Fashion-MNIST (official split) and MNIST (the full set when
//! found, else the 10,000-digit subset split into a training pool and a held-out test part).

use anyhow::Result;
use nn::data::{data_identity, load, load_train_test, DataFile, Dataset, DatasetId, Part};

use super::config::TransferConfig;
use crate::experiment::{seed_stream, RunContext};

/// One domain: the source model's data, and the pool the target subsets are drawn from.
pub struct Domain {
    /// `Fashion-MNIST` or `MNIST`.
    pub name: &'static str,
    /// The training pool: the source model trains on all of it; a target draws its subset
    /// from it.
    pub train: Dataset<f32>,
    /// The test part: the source model's test set; a target evaluates on `test_size` of it.
    pub test: Dataset<f32>,
    /// The files by content and the split, for the stored source model's identity.
    pub identity: Vec<DataFile>,
    /// For the run's record.
    pub description: String,
}

impl Domain {
    /// The target's training images of run `seed`: `n` drawn from the pool (all when `n ≥`
    /// the pool's size).
    pub fn target_subset(&self, n: usize, seed: u64) -> Result<Dataset<f32>> {
        subset(&self.train, n, seed, &format!("{} target subset", self.name))
    }

    /// The source model's training images: `n` of the pool drawn once (seed 0; all of it,
    /// in order, when `n ≥` its size), and the data identity of the stored model.
    pub fn source_train(&self, n: usize) -> Result<(Dataset<f32>, Vec<DataFile>)> {
        let mut identity = self.identity.clone();
        if n < self.train.len() {
            identity.push(DataFile::generated(
                "source subset",
                &format!("source_size={n} of {}, drawn with seed 0", self.train.len()),
            ));
        }
        let train = subset(&self.train, n, 0, &format!("{} source subset", self.name))?;
        Ok((train, identity))
    }

    /// The target's test images: the first `n` of a permutation drawn once (seed 0), the same
    /// for every run seed.
    pub fn target_test(&self, n: usize) -> Result<Dataset<f32>> {
        subset(&self.test, n, 0, &format!("{} target test", self.name))
    }
}

/// `n` samples of `data` drawn by `seed` for `purpose` (all of it when `n ≥ len`).
fn subset(data: &Dataset<f32>, n: usize, seed: u64, purpose: &str) -> Result<Dataset<f32>> {
    if n >= data.len() {
        return Ok(data.clone());
    }
    Ok(data.split(n, &mut seed_stream(seed, purpose))?.0)
}

/// Fashion-MNIST, official 60,000 / 10,000 split.
pub fn fashion(ctx: &RunContext<'_>) -> Result<Domain> {
    let located = ctx.images(DatasetId::FashionMnist)?;
    let both = load_train_test::<f32>(located)?;
    Ok(Domain {
        name: "Fashion-MNIST",
        description: format!(
            "{}: {} train / {} test images",
            located.dataset.description(),
            both.train.len(),
            both.test.len()
        ),
        train: both.train,
        test: both.test,
        identity: data_identity(located)?,
    })
}

/// MNIST: the official split of the full set, or the 10,000-digit subset with
/// `mnist10k_test_size` digits held out (drawn with seed 0) and the rest as the pool.
pub fn digits(ctx: &RunContext<'_>, c: &TransferConfig) -> Result<Domain> {
    let located = ctx.images(DatasetId::Mnist)?;
    let mut identity = data_identity(located)?;
    let (train, test, what) = match located.dataset {
        DatasetId::Mnist10k => {
            let all = load::<f32>(located, Part::All)?;
            let held_out = c.mnist10k_test_size.min(all.len() - 1);
            let (test, train) = all.split(held_out, &mut seed_stream(0, "mnist10k test"))?;
            identity.push(DataFile::generated(
                "split",
                &format!("mnist10k_test_size={held_out}, drawn with seed 0"),
            ));
            let what = format!(
                "the 10,000-digit subset, not the full MNIST: the MNIST source model learns \
                 from {} digits instead of 60,000",
                train.len()
            );
            (train, test, what)
        }
        _ => {
            let both = load_train_test::<f32>(located)?;
            (both.train, both.test, "the full MNIST".to_owned())
        }
    };
    Ok(Domain {
        name: "MNIST",
        description: format!(
            "{}: {} train / {} test digits ({what})",
            located.dataset.description(),
            train.len(),
            test.len()
        ),
        train,
        test,
        identity,
    })
}
