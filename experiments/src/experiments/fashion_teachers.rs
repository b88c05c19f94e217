//! The Fashion-MNIST teachers of the S4 experiments (`prob-distill-fashion`,
//! `prob-distill-fashion-sweep`): the 784-800-50-10 ReLU MLP of S4's Bayesian table, or the
//! authors' small CNN (their public code for the probabilistic table), each trained once by
//! [`stored_teacher_on_rows`] and kept in the model store.
//!
//! The authors' CNN (29,176 parameters), on 1×28×28 images:
//! `Conv 5×5 1→3, ReLU, MaxPool 2, Conv 5×5 3→9, ReLU, MaxPool 2, flatten (9·4·4 = 144),
//! Linear 144→120, ReLU, Linear 120→84, ReLU, Linear 84→10` — LeNet-5's layout with fewer
//! channels, no padding.

use std::sync::Arc;

use anyhow::Result;
use autograd::{Conv2dGeometry, Float, Var};
use ndarray::Array2;
use nn::data::{DataFile, Dataset};
use nn::layers::{mlp, Activation, Conv2d, Flatten, Linear, MaxPool2d, Sequential};
use nn::{Ctx, Module, Param};

use super::s4_common::{stored_teacher_on_rows, Teacher, TeacherSpec};
use crate::experiment::config::ConfigError;
use crate::experiment::{seed_stream, Progress, RunContext, TeacherConfig};

/// Fashion-MNIST's classes.
const CLASSES: usize = 10;
/// Fashion-MNIST's image side.
const SIDE: usize = 28;

/// Which teacher a Fashion-MNIST student learns from (config value `"mlp"` or `"cnn"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FashionTeacher {
    /// The 784-800-50-10 ReLU MLP (668,560 parameters with biases), S4's Bayesian teacher.
    Mlp,
    /// The authors' CNN of the probabilistic table (29,176 parameters): see the module doc.
    Cnn,
}

impl FashionTeacher {
    /// Every kind, in config spelling order.
    pub const ALL: [FashionTeacher; 2] = [FashionTeacher::Mlp, FashionTeacher::Cnn];

    /// `value` of config `key` parsed; the error names the key and the allowed values.
    pub fn parse(key: &str, value: &str) -> Result<Self, ConfigError> {
        match value {
            "mlp" => Ok(FashionTeacher::Mlp),
            "cnn" => Ok(FashionTeacher::Cnn),
            other => Err(ConfigError {
                key: key.to_owned(),
                message: format!(
                    "{other:?}: must be \"mlp\" (the 784-800-50-10 MLP) or \"cnn\" (the \
                     authors' 29,176-parameter CNN)"
                ),
            }),
        }
    }

    /// The config spelling.
    pub fn key(self) -> &'static str {
        match self {
            FashionTeacher::Mlp => "mlp",
            FashionTeacher::Cnn => "cnn",
        }
    }

    /// The report line of the teacher itself.
    pub fn line(self) -> &'static str {
        match self {
            FashionTeacher::Mlp => "teacher (784-800-50-10 MLP)",
            FashionTeacher::Cnn => "teacher (authors' CNN, 29,176 parameters)",
        }
    }

    /// The model store's name (file-name-safe).
    fn store_name(self) -> &'static str {
        match self {
            FashionTeacher::Mlp => "fashion-mlp-784-800-50-10",
            FashionTeacher::Cnn => "fashion-cnn-authors",
        }
    }

    /// The architecture in words (part of the stored identity).
    fn architecture(self) -> &'static str {
        match self {
            FashionTeacher::Mlp => "MLP 784-800-50-10, ReLU, biases",
            FashionTeacher::Cnn => {
                "CNN on 1x28x28: conv5 1-3, ReLU, maxpool2, conv5 3-9, ReLU, maxpool2, \
                 144-120-84-10 ReLU MLP, biases"
            }
        }
    }

    /// A freshly initialised model of this kind (PyTorch's default initialisation), taking
    /// flat 784-pixel rows.
    pub fn model(self, rng: &mut impl rand::Rng) -> Sequential<f32> {
        match self {
            FashionTeacher::Mlp => mlp(
                &[SIDE * SIDE, 800, 50, CLASSES],
                Activation::Relu,
                true,
                rng,
            ),
            FashionTeacher::Cnn => authors_cnn(rng),
        }
    }
}

/// The authors' CNN (see the module doc) behind [`ImageRows`], so that it takes the flat
/// 784-pixel rows of [`Dataset`].
pub fn authors_cnn<F: Float>(rng: &mut impl rand::Rng) -> Sequential<F> {
    let conv = |i, o, rng: &mut _| Conv2d::new(i, o, 5, Conv2dGeometry::default(), true, rng);
    Sequential::new()
        .push(ImageRows {
            channels: 1,
            height: SIDE,
            width: SIDE,
        })
        .push(conv(1, 3, rng))
        .push(Activation::Relu)
        .push(MaxPool2d::new(2))
        .push(conv(3, 9, rng))
        .push(Activation::Relu)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(9 * 4 * 4, 120, true, rng))
        .push(Activation::Relu)
        .push(Linear::new(120, 84, true, rng))
        .push(Activation::Relu)
        .push(Linear::new(84, CLASSES, true, rng))
}

/// `[n, c·h·w] → [n, c, h, w]` (row-major, as PyTorch's `view(-1, c, h, w)`): flat image rows
/// as images for a convolution. No parameters.
#[derive(Clone, Copy, Debug)]
pub struct ImageRows {
    /// Channels `c`.
    pub channels: usize,
    /// Height `h`.
    pub height: usize,
    /// Width `w`.
    pub width: usize,
}

impl<F: Float> Module<F> for ImageRows {
    fn forward<'t>(&self, _: &Ctx<'t, F>, x: Var<'t, F>) -> nn::Result<Var<'t, F>> {
        let shape = x.shape();
        let pixels = self.channels * self.height * self.width;
        if shape.len() != 2 || shape[1] != pixels {
            return Err(nn::Error::config(
                "ImageRows input",
                format!(
                    "expected rows of {pixels} values ({}×{}×{}), got shape {shape:?}",
                    self.channels, self.height, self.width
                ),
            ));
        }
        Ok(x.reshape(&[shape[0], self.channels, self.height, self.width])?)
    }

    fn visit_params(&self, _: &mut dyn FnMut(&str, &Param<F>)) {}

    fn visit_params_mut(&mut self, _: &mut dyn FnMut(&str, &mut Param<F>)) {}
}

/// The Fashion-MNIST teacher `kind` trained as `config` says from `seed` on `train`
/// (identified in the store by `data`: the data set's identity and whatever selects the
/// subset), loaded when stored; its [`Teacher::train_logits`] are those on `rows` (named
/// `rows_name`, unique within the process), or on `train` when `rows` is `None`.
#[allow(clippy::too_many_arguments)] // as stored_teacher
pub fn fashion_teacher(
    ctx: &RunContext<'_>,
    kind: FashionTeacher,
    config: &TeacherConfig,
    seed: u64,
    data: Vec<DataFile>,
    (train, test): (&Dataset<f32>, &Dataset<f32>),
    rows: Option<(&str, &Array2<f32>)>,
    progress: &mut Progress,
) -> Result<Arc<Teacher>> {
    let spec = TeacherSpec {
        name: kind.store_name(),
        architecture: kind.architecture(),
        data,
    };
    let model = kind.model(&mut seed_stream(seed, "teacher init"));
    let rows = rows.unwrap_or(("its training set", train.x()));
    stored_teacher_on_rows(ctx, spec, model, config, seed, train, test, rows, progress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use autograd::Tape;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn parameters(model: &Sequential<f32>) -> usize {
        let mut n = 0;
        model.visit_params(&mut |_, p| n += p.shape().iter().product::<usize>());
        n
    }

    #[test]
    fn the_authors_cnn_has_their_parameter_count_and_maps_rows_to_logits() {
        let mut rng = StdRng::seed_from_u64(0);
        let cnn = FashionTeacher::Cnn.model(&mut rng);
        // conv1 3·25+3 = 78, conv2 9·3·25+9 = 684, 144·120+120 = 17,400, 120·84+84 = 10,164,
        // 84·10+10 = 850: 29,176 (the "about 30k parameters" of the authors' paper)
        assert_eq!(parameters(&cnn), 29_176);
        // 784·800+800 + 800·50+50 + 50·10+10 (S4's 667,700 counts no biases)
        assert_eq!(parameters(&FashionTeacher::Mlp.model(&mut rng)), 668_560);
        let tape = Tape::new();
        let ctx = Ctx::eval(&tape);
        let x = ctx.input(Array2::<f32>::from_elem((3, 784), 0.5));
        let logits = cnn.forward(&ctx, x).unwrap();
        assert_eq!(logits.shape(), vec![3, CLASSES]);
    }

    #[test]
    fn image_rows_reject_rows_of_the_wrong_width() {
        let tape = Tape::new();
        let ctx = Ctx::<f32>::eval(&tape);
        let rows = ImageRows {
            channels: 1,
            height: SIDE,
            width: SIDE,
        };
        let err = rows
            .forward(&ctx, ctx.input(Array2::<f32>::zeros((2, 783))))
            .unwrap_err()
            .to_string();
        assert!(err.contains("784") && err.contains("[2, 783]"), "{err}");
        // row-major: pixel (r, c) of the image is column 28·r + c of the row
        let mut x = Array2::<f32>::zeros((1, 784));
        x[[0, 28 * 3 + 5]] = 1.0;
        let image = rows.forward(&ctx, ctx.input(x)).unwrap().value();
        assert_eq!(image.shape(), &[1, 1, 28, 28]);
        assert_eq!(image[&[0, 0, 3, 5][..]], 1.0);
        assert_eq!(image.sum(), 1.0);
    }

    #[test]
    fn teacher_kinds_parse_and_name_the_key() {
        for kind in FashionTeacher::ALL {
            assert_eq!(FashionTeacher::parse("k", kind.key()), Ok(kind));
        }
        let err = FashionTeacher::parse("teacher_model", "resnet").unwrap_err();
        assert_eq!(err.key, "teacher_model");
        assert!(err.message.contains("\"mlp\"") && err.message.contains("\"cnn\""));
    }
}
