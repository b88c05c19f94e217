//! Trains the seeds' teacher MLP (784-800-50-10, ReLU) on Fashion-MNIST with Adam, printing the
//! time of each epoch and the test accuracy after it.
//!
//! ```sh
//! cargo run --release --example train_mlp -- [DATA_DIR] [EPOCHS]
//! ```
//!
//! The data is found as `distillery` finds it (`DATA_DIR`, then `DISTILLERY_DATA`, `./data`,
//! `/usr/share/datasets`, the cache); `distillery data fetch` downloads it.

use std::path::PathBuf;

use nn::data::{discover, load_train_test};
use nn::layers::{mlp, Activation};
use nn::optim::{Adam, AdamConfig};
use nn::train::{fit, CrossEntropy, Lines, TrainConfig};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Train on a thread of the rayon pool, so the kernels' parallel work is not handed from
    // the main thread to the pool (and waited for) op by op.
    rayon::ThreadPoolBuilder::new().build()?.install(train)
}

fn train() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = std::env::args().skip(1);
    let data_dir = args.next().map(PathBuf::from);
    let epochs = match args.next() {
        Some(e) => e
            .parse()
            .map_err(|_| format!("EPOCHS must be a whole number, got {e:?}"))?,
        None => 10,
    };
    let found = discover(data_dir.as_deref())?;
    let located = found.fashion_mnist()?;
    eprintln!("{located}");
    let data = load_train_test::<f32>(located)?;

    let mut model = mlp::<f32>(
        &[784, 800, 50, 10],
        Activation::Relu,
        true,
        &mut StdRng::seed_from_u64(0),
    );
    let mut adam = Adam::new(AdamConfig::adam(1e-3))?;
    let config = TrainConfig {
        epochs,
        batch_size: 256,
        seed: 0,
        ..TrainConfig::default()
    };
    let reports = fit(
        &mut model,
        &mut adam,
        &CrossEntropy,
        &data.train,
        Some(&data.test),
        &config,
        &mut Lines::new("train_mlp", 10.0),
    )?;
    println!("epoch,seconds,train_loss,test_accuracy,test_cross_entropy");
    for r in &reports {
        let e = r.eval.expect("evaluated every epoch");
        println!(
            "{},{:.3},{:.4},{:.4},{:.4}",
            r.epoch, r.seconds, r.train_loss, e.accuracy, e.cross_entropy
        );
    }
    Ok(())
}
