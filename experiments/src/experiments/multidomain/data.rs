//! The data of `multidomain`: Fashion-MNIST split into the big part, the small part and the
//! test set (fixed seed), and the digits (the full MNIST when found, else the 10,000-digit
//! subset, split).

use anyhow::Result;
use nn::data::{data_identity, load, load_train_test, DataFile, Dataset, DatasetId, Part};

use super::config::MultidomainConfig;
use crate::experiment::{seed_stream, subset, RunContext};

/// The clothes.
pub struct Fashion {
    /// The training images used (`train_size`): "Fashion-MNIST (all)" of S1's table.
    pub train: Dataset<f32>,
    /// The big part, `train_size − small_size` images ("train big").
    pub big: Dataset<f32>,
    /// The small part, `small_size` images ("train small").
    pub small: Dataset<f32>,
    /// The test images used.
    pub test: Dataset<f32>,
    /// The files by content and the split, for the stored models' identities.
    pub identity: Vec<DataFile>,
    /// For the run's record.
    pub description: String,
}

/// Loads Fashion-MNIST and splits it: the first `train_size` of a permutation of the official
/// training set (all of it, in order, at 60,000), then `small_size` of those drawn for the
/// small part and the rest the big part, and the first `test_size` of the test set likewise —
/// every draw from `split_seed`, so that every run seed and every teacher sees the same parts.
pub fn fashion(ctx: &RunContext<'_>, c: &MultidomainConfig) -> Result<Fashion> {
    let located = ctx.images(DatasetId::FashionMnist)?;
    let full = load_train_test::<f32>(located)?;
    let train = subset(full.train, c.train_size, c.split_seed, "train subset")?;
    let test = subset(full.test, c.test_size, c.split_seed, "test subset")?;
    let (small, big) = train.split(c.small_size, &mut seed_stream(c.split_seed, "small part"))?;
    let mut identity = data_identity(located)?;
    identity.push(DataFile::generated(
        "split",
        &format!(
            "train_size={} small_size={} test_size={} split_seed={}",
            c.train_size, c.small_size, c.test_size, c.split_seed
        ),
    ));
    let description = format!(
        "{}: {} train images used = {} big part + {} small part, {} test (split seed {})",
        located.dataset.description(),
        train.len(),
        big.len(),
        small.len(),
        test.len(),
        c.split_seed
    );
    Ok(Fashion {
        train,
        big,
        small,
        test,
        identity,
        description,
    })
}

/// The digits.
pub struct Digits {
    /// The MNIST teacher's training digits, also paired with the clothes for the VAE.
    pub train: Dataset<f32>,
    /// The MNIST teacher's test digits.
    pub test: Dataset<f32>,
    /// The files by content and the split.
    pub identity: Vec<DataFile>,
    /// For the run's record: which MNIST, and what that changes.
    pub description: String,
}

/// The full MNIST (official split, at most `mnist_train_size` training digits) when found;
/// else the 10,000-digit subset, `mnist10k_test_size` of it held out for testing and at most
/// `mnist_train_size` of the rest for training (drawn from `split_seed`).
pub fn digits(ctx: &RunContext<'_>, c: &MultidomainConfig) -> Result<Digits> {
    let located = ctx.images(DatasetId::Mnist)?;
    let (train, test, what) = match located.dataset {
        DatasetId::Mnist10k => {
            let all = load::<f32>(located, Part::All)?;
            let rest = all.len() - c.mnist10k_test_size.min(all.len() - 1);
            let (train, test) = all.split(rest, &mut seed_stream(c.split_seed, "mnist split"))?;
            let train = subset(train, c.mnist_train_size, c.split_seed, "mnist subset")?;
            let what = format!(
                "the 10,000-digit subset, not the full MNIST: the digit teacher learns from {} \
                 digits instead of 60,000 and is weaker, the VAE pairs the clothes with \
                 repeated digits",
                train.len()
            );
            (train, test, what)
        }
        _ => {
            let both = load_train_test::<f32>(located)?;
            let train = subset(both.train, c.mnist_train_size, c.split_seed, "mnist subset")?;
            (train, both.test, "the full MNIST".to_owned())
        }
    };
    let mut identity = data_identity(located)?;
    identity.push(DataFile::generated(
        "split",
        &format!(
            "mnist_train_size={} mnist10k_test_size={} split_seed={}",
            c.mnist_train_size, c.mnist10k_test_size, c.split_seed
        ),
    ));
    let description = format!(
        "{}: {} train / {} test digits ({what})",
        located.dataset.description(),
        train.len(),
        test.len()
    );
    Ok(Digits {
        train,
        test,
        identity,
        description,
    })
}

