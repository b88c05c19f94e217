//! The data of `hypernet`: MNIST (the full set when found, else the 10,000-digit subset, split)
//! or Fashion-MNIST, reduced to the configured sizes with a fixed seed.

use anyhow::Result;
use nn::data::{data_identity, load, load_train_test, DataFile, Dataset, DatasetId, Part};

use super::config::HypernetConfig;
use crate::experiment::{seed_stream, subset, RunContext};

/// The images of a run.
pub struct Images {
    /// Training images.
    pub train: Dataset<f32>,
    /// Test images.
    pub test: Dataset<f32>,
    /// The files by content and the split, for the stored models' identities.
    pub identity: Vec<DataFile>,
    /// For the run's record: which set, how many images.
    pub description: String,
}

/// Loads the configured data set and draws the subsets from `split_seed`.
pub fn images(ctx: &RunContext<'_>, c: &HypernetConfig) -> Result<Images> {
    let id = if c.data == "fashion-mnist" {
        DatasetId::FashionMnist
    } else {
        DatasetId::Mnist
    };
    let located = ctx.images(id)?;
    let (train, test, what) = match located.dataset {
        DatasetId::Mnist10k => {
            let all = load::<f32>(located, Part::All)?;
            let rest = all.len() - c.mnist10k_test_size.min(all.len() - 1);
            let (train, test) = all.split(rest, &mut seed_stream(c.split_seed, "mnist split"))?;
            (
                train,
                test,
                "the 10,000-digit subset, not the full MNIST: fewer training digits than the \
                 authors' 60,000, so lower accuracies are expected",
            )
        }
        _ => {
            let both = load_train_test::<f32>(located)?;
            (both.train, both.test, "the official split")
        }
    };
    let train = subset(train, c.train_size, c.split_seed, "train subset")?;
    let test = subset(test, c.test_size, c.split_seed, "test subset")?;
    let mut identity = data_identity(located)?;
    identity.push(DataFile::generated(
        "split",
        &format!(
            "train_size={} test_size={} mnist10k_test_size={} split_seed={}",
            c.train_size, c.test_size, c.mnist10k_test_size, c.split_seed
        ),
    ));
    let description = format!(
        "{}: {} train / {} test images ({what})",
        located.dataset.description(),
        train.len(),
        test.len()
    );
    Ok(Images {
        train,
        test,
        identity,
        description,
    })
}
