//! One step of S0's Wasserstein transfer regulariser (`methods::transfer`), as the `transfer`
//! experiment takes it: first the critics' ascent (one Adam step per layer, step size 1e-3,
//! β = (0.5, 0.9), on `E_q f − E_p f` over the whole clouds, then the dual estimate), then the
//! model's descent (Adam at 1e-3) on the cross-entropy of a batch of 32 plus
//! `Σ_j λ_j (E_{q_j} f_j − E_{p_j} f_j)`, `λ_j = 0.1`, through the frozen critics.
//!
//! The model is `transfer`'s LeNet-sized net (conv 1→8 5×5 pad 2, ReLU, max-pool; conv 8→16
//! 5×5, ReLU, max-pool; dense 400→64, ReLU; dense 64→10); its three encoder weights are the
//! clouds (8 points in R^25, 16 in R^200, 64 in R^400), each with a critic of two hidden
//! orthonormal layers of 16 units (15 Björck iterations) and MaxMin. The source model is a
//! second random net of the same shape. Metric: samples per second (32 per step).

use autograd::functional::{cross_entropy, Reduction};
use autograd::{Conv2dGeometry, Tape};
use methods::transfer::{CriticConfig, WassersteinConfig, WassersteinRegularizer};
use ndarray::Array4;
use nn::layers::{Activation, Conv2d, Flatten, Linear, MaxPool2d, Sequential};
use nn::optim::{Adam, AdamConfig, Optimizer};
use nn::{Ctx, Module};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::{Metric, Prepared};

const BATCH: usize = 32;

fn net(rng: &mut StdRng) -> Sequential<f32> {
    Sequential::new()
        .push(Conv2d::new(
            1,
            8,
            5,
            Conv2dGeometry::new(1, 2, 1),
            true,
            rng,
        ))
        .push(Activation::Relu)
        .push(MaxPool2d::new(2))
        .push(Conv2d::new(8, 16, 5, Conv2dGeometry::default(), true, rng))
        .push(Activation::Relu)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(400, 64, true, rng))
        .push(Activation::Relu)
        .push(Linear::new(64, 10, true, rng))
}

/// The names of the encoder's weights: every parameter of two or more axes but the last
/// (the classifier's).
fn encoder_weights(model: &dyn Module<f32>) -> Vec<String> {
    let mut names = Vec::new();
    model.visit_params(&mut |name, p| {
        if p.shape().len() >= 2 {
            names.push(name.to_owned());
        }
    });
    names.pop();
    names
}

/// One critic ascent and one model descent.
pub fn workload() -> Prepared {
    let mut rng = StdRng::seed_from_u64(super::workloads::SEED);
    let source = net(&mut rng);
    let mut model = net(&mut rng);
    let names = encoder_weights(&model);
    assert_eq!(names.len(), 3, "conv1, conv2, fc1");
    let layers: Vec<(&str, f64)> = names.iter().map(|n| (n.as_str(), 0.1)).collect();
    let cfg = WassersteinConfig {
        critic: CriticConfig::orthonormal(&[16, 16]),
        critic_steps: 1,
        critic_learning_rate: 1e-3,
    };
    let mut critics =
        WassersteinRegularizer::new(&source, &layers, &cfg, &mut rng).expect("valid layers");
    let x = Array4::<f32>::from_shape_simple_fn((BATCH, 1, 28, 28), || rng.sample(StandardNormal));
    let y: Vec<usize> = (0..BATCH).map(|_| rng.gen_range(0..10)).collect();
    let mut adam = Adam::new(AdamConfig::adam(1e-3)).expect("valid settings");
    Prepared {
        step: Box::new(move || {
            critics.critic_ascent(&model).expect("shapes fixed above");
            let grads = {
                let tape = Tape::new();
                let ctx = Ctx::train(&tape, 0);
                let logits = model
                    .forward(&ctx, ctx.input(x.clone()))
                    .expect("shapes fixed above");
                let task = cross_entropy(logits, &y, Reduction::Mean).expect("shapes fixed above");
                let omega = critics
                    .penalty(&ctx.bind_all(&model))
                    .expect("the critics' layers are the model's");
                ctx.grads(task.try_add(omega).expect("scalars"))
                    .expect("a scalar loss")
            };
            adam.step(&mut model, &grads).expect("shapes fixed above");
        }),
        metric: Metric::PerSecond {
            unit: "samples/s",
            count: BATCH as f64,
        },
    }
}
