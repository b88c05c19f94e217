//! `multidomain`: S1's distillation across domains of different size, all nine rows of its
//! Table 2, with the per-epoch curves of its figures 1, 2, 4, 6, 9, 10 and 11, the image
//! figures 3, 5, 7 and 8, and a sweep of `λ` for the identity map.
//!
//! ```text
//! config    the config, the [vae] sections and the checks between keys
//! data      Fashion-MNIST big / small / test parts; MNIST (full, or the 10,000-digit subset)
//! models    the six teachers and the two VAEs from the model store
//! students  the 784-w-10 student, the multi-domain loss of a batch, curves per figure
//! figures   the PNG figures
//! ```
//!
//! Rows (student data / teacher data / φ): the student on all of Fashion-MNIST without and
//! with a teacher trained on it; the student on the small part without a teacher, and with the
//! teacher of the big part through the identity, through noise (teacher trained on a noisy
//! copy of the big part) and through the dilated convolution (teacher trained on the 24×24
//! transformed big part); with the MNIST teacher through the VAE and without a map; and with
//! the teacher of synthetic MNIST through the VAE. Every teacher and the VAE are stored models,
//! trained once and shared by the rows and the run seeds; the run seed sets the students'
//! initialisation and batch order (the same in every row) and the draws of random maps.

mod config;
mod data;
mod figures;
mod models;
mod students;

use anyhow::{Context, Result};
use methods::multidomain::maps::{DilatedConv, DomainMap, GaussianNoise, Identity};
use methods::multidomain::vae::{pair_by_class, synthetic_digits, VaeMap, VaeMapMode};
use ndarray::{Array2, Axis};
use nn::data::{DataFile, Dataset};
use nn::train::CrossEntropy;

pub use config::MultidomainConfig;
use data::{Digits, Fashion};
use models::{Teacher, CLASSES};
use students::{answers, Distilled, Student};

use crate::experiment::{
    seed_stream, Compare, ConfigError, DataNeed, Experiment, Figure, Info, PlotSpec, Progress,
    Published, RunContext, RunRecord, StudentConfig, TeacherConfig,
};
use nn::data::DatasetId;

/// The experiment (registered in `super`).
pub struct Multidomain;

/// Where the published figures are printed.
const TABLE: &str = "S1, Table 2";

/// A row of S1's Table 2: its label, our line, the published accuracy and cross-entropy.
struct Row {
    label: &'static str,
    line: &'static str,
    accuracy: f64,
    cross_entropy: f64,
}

const FULL_NONE: &str = "Fashion-MNIST (all), no teacher";
const FULL_TAUGHT: &str = "Fashion-MNIST (all), teacher Fashion-MNIST";
const SMALL_NONE: &str = "train small, no teacher";
const SMALL_IDENTITY: &str = "train small, teacher train big, identity";
const SMALL_NOISE: &str = "train small, teacher train big, noise";
const SMALL_DILATION: &str = "train small, teacher train big, dilation";
const SMALL_VAE: &str = "train small, teacher MNIST, VAE";
const SMALL_NO_MAP: &str = "train small, teacher MNIST, no map";
const SMALL_SYNTHETIC: &str = "train small, teacher synthetic MNIST, VAE";

/// S1's Table 2, in order.
const ROWS: [Row; 9] = [
    row("Fashion-MNIST (all) / — / —", FULL_NONE, 0.879, 0.376),
    row("Fashion-MNIST (all) / Fashion-MNIST / —", FULL_TAUGHT, 0.884, 0.332),
    row("train small / — / —", SMALL_NONE, 0.796, 0.616),
    row("train small / train big / identity", SMALL_IDENTITY, 0.812, 0.560),
    row("train small / train big / noise", SMALL_NOISE, 0.811, 0.563),
    row("train small / train big / dilation", SMALL_DILATION, 0.804, 0.576),
    row("train small / MNIST / VAE", SMALL_VAE, 0.804, 0.625),
    row("train small / MNIST / — (clothes to the digit teacher)", SMALL_NO_MAP, 0.480, 1.241),
    row("train small / synthetic MNIST / VAE", SMALL_SYNTHETIC, 0.806, 0.576),
];

const fn row(label: &'static str, line: &'static str, accuracy: f64, cross_entropy: f64) -> Row {
    Row {
        label,
        line,
        accuracy,
        cross_entropy,
    }
}

const T_FULL: &str = "teacher: Fashion-MNIST (all)";
const T_BIG: &str = "teacher: train big";
const T_NOISE: &str = "teacher: train big + noise";
const T_DILATION: &str = "teacher: train big, dilated (576 inputs)";
const T_MNIST: &str = "teacher: MNIST";
const T_SYNTHETIC: &str = "teacher: synthetic MNIST";

/// The per-epoch plots of S1's figures: (accuracy metric, cross-entropy metric, lines).
const PLOTS: [(&str, &str, &[&str]); 7] = [
    (
        "fig1_full_data_test_accuracy",
        "fig1_full_data_test_cross_entropy",
        &[FULL_NONE, FULL_TAUGHT],
    ),
    (
        "fig2_small_test_accuracy",
        "fig2_small_test_cross_entropy",
        &[SMALL_NONE, SMALL_IDENTITY],
    ),
    (
        "fig4_noise_test_accuracy",
        "fig4_noise_test_cross_entropy",
        &[SMALL_NONE, SMALL_IDENTITY, SMALL_NOISE],
    ),
    (
        "fig6_dilation_test_accuracy",
        "fig6_dilation_test_cross_entropy",
        &[SMALL_NONE, SMALL_IDENTITY, SMALL_DILATION],
    ),
    (
        "fig9_vae_test_accuracy",
        "fig9_vae_test_cross_entropy",
        &[SMALL_NONE, SMALL_VAE],
    ),
    (
        "fig10_vae_or_no_map_test_accuracy",
        "fig10_vae_or_no_map_test_cross_entropy",
        &[SMALL_NONE, SMALL_VAE, SMALL_NO_MAP],
    ),
    (
        "fig11_synthetic_test_accuracy",
        "fig11_synthetic_test_cross_entropy",
        &[SMALL_NONE, SMALL_IDENTITY, SMALL_SYNTHETIC],
    ),
];

/// The λ sweep's line and plots (one point per λ).
const SWEEP: &str = "identity map (teacher train big), λ sweep";
const SWEEP_ACCURACY: &str = "lambda_sweep_test_accuracy";
const SWEEP_CROSS_ENTROPY: &str = "lambda_sweep_test_cross_entropy";
/// The VAEs' ELBO per epoch.
const VAE_ELBO: &str = "vae_elbo";
const VAE_64: &str = "VAE (latent 64)";
const VAE_2: &str = "VAE (latent 2, figures)";

/// The plots `line` is drawn in.
fn plots_of(line: &str) -> Vec<(&'static str, &'static str)> {
    PLOTS
        .iter()
        .filter(|(_, _, lines)| lines.contains(&line))
        .map(|&(a, c, _)| (a, c))
        .collect()
}

/// The line of one λ of the sweep.
fn sweep_line(lambda: f64) -> String {
    format!("identity map, λ = {lambda}")
}

impl Experiment for Multidomain {
    type Config = MultidomainConfig;

    fn info(&self) -> Info {
        Info {
            name: "multidomain",
            description: "Distillation across domains of different size: a one-hidden-layer \
                          student on 1,000 Fashion-MNIST images taught by MLP teachers of a \
                          bigger domain through a map φ (identity, noise, dilated convolution, \
                          a clothes-to-digits VAE).",
            reproduces: "S1 (distillation across domains of different size), Table 2, all \
                         nine rows; figures 1–11",
            revision: 1,
        }
    }

    fn quick_config(&self) -> MultidomainConfig {
        let full = MultidomainConfig::default();
        let vae = |section: &config::VaeSection| config::VaeSection {
            epochs: 2,
            ..section.clone()
        };
        MultidomainConfig {
            train_size: 4_000,
            test_size: 1_000,
            mnist_train_size: 3_000,
            mnist10k_test_size: 500,
            student: StudentConfig {
                epochs: 3,
                ..full.student.clone()
            },
            teacher: TeacherConfig {
                epochs: 2,
                ..full.teacher.clone()
            },
            vae: vae(&full.vae),
            vae_2d: vae(&full.vae_2d),
            synthetic_per_image: 3,
            synthetic_test_size: 500,
            lambda_sweep: vec![0.0, 0.5, 1.0],
            ..full
        }
    }

    fn check_config(&self, c: &MultidomainConfig) -> Result<(), ConfigError> {
        config::check(c)
    }

    fn data(&self, _c: &MultidomainConfig) -> Vec<DataNeed> {
        vec![
            DataNeed::Images(DatasetId::FashionMnist),
            DataNeed::Images(DatasetId::Mnist),
        ]
    }

    fn run(
        &self,
        c: &MultidomainConfig,
        seed: u64,
        ctx: &RunContext<'_>,
        progress: &mut Progress,
    ) -> Result<RunRecord> {
        let mut record = RunRecord::default();
        let fashion = data::fashion(ctx, c)?;
        let digits = data::digits(ctx, c)?;
        record.uses_data(fashion.description.clone());
        record.uses_data(digits.description.clone());
        let figures = ctx.figures_dir().map(std::path::Path::to_path_buf);
        let students = 2 + 7 + c.lambda_sweep.len();
        let steps = 6 * c.teacher.epochs
            + c.vae.epochs
            + if figures.is_some() { c.vae_2d.epochs } else { 0 }
            + students * c.student.epochs;
        progress.set_total(steps as u64);

        let teachers = Teachers::get(ctx, c, seed, &fashion, &digits, progress, &mut record)?;
        let small = &fashion.small;
        let labels = small.y().to_vec();
        let loss = c.loss();
        let mut maps_rng = seed_stream(seed, "maps");
        let mapped = |map: &dyn DomainMap<f32>, rng: &mut rand::rngs::StdRng| {
            map.apply(small.x().view(), rng)
        };
        let noise = GaussianNoise::reading(c.noise_reading());
        let dilation = DilatedConv::authors(28, 28)?;
        let vae_map = VaeMap {
            vae: &teachers.vae.vae,
            mode: if c.vae_map_sample {
                VaeMapMode::Sample
            } else {
                VaeMapMode::Mean
            },
        };
        let phi_vae = mapped(&vae_map, &mut maps_rng)?;
        // (line, teacher, φ(x) of the small part)
        let taught_small: [(&str, &Teacher, Array2<f32>); 6] = [
            (SMALL_IDENTITY, &teachers.big, mapped(&Identity, &mut maps_rng)?),
            (SMALL_NOISE, &teachers.noise, mapped(&noise, &mut maps_rng)?),
            (SMALL_DILATION, &teachers.dilation, mapped(&dilation, &mut maps_rng)?),
            (SMALL_VAE, &teachers.mnist, phi_vae.clone()),
            (SMALL_NO_MAP, &teachers.mnist, mapped(&Identity, &mut maps_rng)?),
            (SMALL_SYNTHETIC, &teachers.synthetic, phi_vae),
        ];

        let student = Student {
            ctx,
            hidden: c.student_hidden,
            config: &c.student,
            seed,
            test: &fashion.test,
        };
        let plots = |line: &str| plots_of(line);
        student.train(FULL_NONE, &fashion.train, &CrossEntropy, &plots(FULL_NONE), &mut record, progress)?;
        let (full_answers, full_accuracy) = answers(
            &teachers.full.model,
            fashion.train.x(),
            &fashion.train.y().to_vec(),
        )?;
        record.set_final(FULL_TAUGHT, "teacher_accuracy_on_student_data", full_accuracy);
        let distilled = Distilled {
            teacher_logits: &full_answers,
            loss,
        };
        student.train(FULL_TAUGHT, &fashion.train, &distilled, &plots(FULL_TAUGHT), &mut record, progress)?;
        student.train(SMALL_NONE, small, &CrossEntropy, &plots(SMALL_NONE), &mut record, progress)?;
        let mut identity_answers = None;
        for (line, teacher, phi) in &taught_small {
            let (logits, accuracy) = answers(&teacher.model, phi, &labels)?;
            record.set_final(line, "teacher_accuracy_on_student_data", accuracy);
            let distilled = Distilled {
                teacher_logits: &logits,
                loss,
            };
            student.train(line, small, &distilled, &plots(line), &mut record, progress)?;
            if *line == SMALL_IDENTITY {
                identity_answers = Some(logits);
            }
        }
        let identity_answers = identity_answers.expect("the identity row is trained");
        for &lambda in &c.lambda_sweep {
            let distilled = Distilled {
                teacher_logits: &identity_answers,
                loss: c.loss_at(lambda),
            };
            let e = student.train(&sweep_line(lambda), small, &distilled, &[], &mut record, progress)?;
            record.push(SWEEP, SWEEP_ACCURACY, e.accuracy);
            record.push(SWEEP, SWEEP_CROSS_ENTROPY, e.cross_entropy);
        }

        if let Some(dir) = figures {
            write_figures(&dir, c, ctx, &fashion, &digits, &teachers, progress, &mut record)?;
        }
        Ok(record)
    }

    fn comparison(&self) -> Vec<Compare> {
        let mut rows = Vec::new();
        for r in &ROWS {
            for (metric, mean) in [
                ("test_accuracy", r.accuracy),
                ("test_cross_entropy", r.cross_entropy),
            ] {
                rows.push(Compare {
                    label: r.label,
                    line: r.line,
                    metric,
                    published: Some(Published {
                        mean,
                        std: None,
                        source: TABLE,
                    }),
                    note: "",
                });
            }
        }
        for r in &ROWS[1..] {
            if r.line != SMALL_NONE {
                rows.push(Compare {
                    label: r.label,
                    line: r.line,
                    metric: "teacher_accuracy_on_student_data",
                    published: None,
                    note: "accuracy of f∘φ alone on the student's training data",
                });
            }
        }
        for (label, line) in [
            ("teacher on Fashion-MNIST (all)", T_FULL),
            ("teacher on train big", T_BIG),
            ("teacher on train big + noise", T_NOISE),
            ("teacher on train big, dilated", T_DILATION),
            ("teacher on MNIST", T_MNIST),
            ("teacher on synthetic MNIST", T_SYNTHETIC),
        ] {
            for metric in ["test_accuracy", "test_cross_entropy"] {
                rows.push(Compare {
                    label,
                    line,
                    metric,
                    published: None,
                    note: "on its own test set (not in S1's table)",
                });
            }
        }
        rows
    }

    fn plots(&self) -> Vec<PlotSpec> {
        let mut plots: Vec<PlotSpec> = PLOTS
            .iter()
            .flat_map(|&(a, c, _)| [a, c])
            .map(PlotSpec::per_epoch)
            .collect();
        plots.push(PlotSpec {
            metric: SWEEP_ACCURACY,
            x_label: "λ (weight of the labels; 1 − λ weighs the teacher)",
        });
        plots.push(PlotSpec {
            metric: SWEEP_CROSS_ENTROPY,
            x_label: "λ (weight of the labels; 1 − λ weighs the teacher)",
        });
        plots.push(PlotSpec::per_epoch(VAE_ELBO));
        plots
    }

    fn x_values(&self, c: &MultidomainConfig, metric: &str) -> Option<Vec<f64>> {
        [SWEEP_ACCURACY, SWEEP_CROSS_ENTROPY]
            .contains(&metric)
            .then(|| c.lambda_sweep.clone())
    }

    fn figures(&self, _c: &MultidomainConfig) -> Vec<Figure> {
        figures::list()
    }

    fn notes(&self, c: &MultidomainConfig) -> Vec<String> {
        notes(c)
    }
}

/// The stored models of a run.
struct Teachers {
    full: Teacher,
    big: Teacher,
    noise: Teacher,
    dilation: Teacher,
    mnist: Teacher,
    synthetic: Teacher,
    vae: models::StoredVae,
}

impl Teachers {
    /// Every teacher and the 64-latent VAE, from the store (trained when missing), recorded.
    fn get(
        ctx: &RunContext<'_>,
        c: &MultidomainConfig,
        seed: u64,
        fashion: &Fashion,
        digits: &Digits,
        progress: &mut Progress,
        record: &mut RunRecord,
    ) -> Result<Teachers> {
        let t_seed = c.teacher.seed_for(seed);
        let part = |description: &str| {
            let mut identity = fashion.identity.clone();
            identity.push(DataFile::generated("part", description));
            identity
        };
        let noise = GaussianNoise::reading(c.noise_reading());
        let dilation = DilatedConv::authors(28, 28)?;
        let factory = models::TeacherFactory {
            ctx,
            config: &c.teacher,
            seed: t_seed,
        };
        let fashion_all = || Ok((fashion.train.clone(), fashion.test.clone()));
        let full = factory.get("s1-teacher-fashion-all", 784, part("all"), fashion_all, progress)?;
        let fashion_big = || Ok((fashion.big.clone(), fashion.test.clone()));
        let big = factory.get("s1-teacher-fashion-big", 784, part("big"), fashion_big, progress)?;
        let noise_part = part(&format!(
            "big; {}; one draw",
            DomainMap::<f32>::describe(&noise)
        ));
        let noisy_big = || mapped_parts(fashion, &noise, seed_stream(t_seed, "teacher noise"));
        let noisy = factory.get("s1-teacher-fashion-big-noise", 784, noise_part, noisy_big, progress)?;
        let dilation_part = part(&format!("big; {}", DomainMap::<f32>::describe(&dilation)));
        let dilated_big = || mapped_parts(fashion, &dilation, seed_stream(t_seed, "dilation"));
        let dilated = factory.get(
            "s1-teacher-fashion-big-dilation",
            576,
            dilation_part,
            dilated_big,
            progress,
        )?;
        let mnist_data = || Ok((digits.train.clone(), digits.test.clone()));
        let mnist = factory.get("s1-teacher-mnist", 784, digits.identity.clone(), mnist_data, progress)?;

        // the VAE: big-part clothes paired with the MNIST teacher's training digits
        let mut vae_identity = part("big");
        vae_identity.extend(digits.identity.clone());
        let pairs = || paired(&fashion.big, digits, c.vae.seed);
        let vae = models::vae(ctx, "s1-vae-64", &c.vae, vae_identity, pairs, progress)?;

        // synthetic MNIST from the small part through that VAE
        let synthetic_identity = vec![DataFile::generated(
            "synthetic MNIST",
            &format!(
                "VAE {}; small part of {:?}; {} per image; test {}; seed {}",
                vae.stem,
                fashion.identity,
                c.synthetic_per_image,
                c.synthetic_test_size,
                c.vae.seed
            ),
        )];
        let generate = || {
            let mut rng = seed_stream(c.vae.seed, "synthetic MNIST");
            let all = synthetic_digits(&vae.vae, &fashion.small, c.synthetic_per_image, &mut rng)?;
            let (test, train) = all.split(c.synthetic_test_size, &mut rng)?;
            Ok((train, test))
        };
        let synthetic = factory.get(
            "s1-teacher-synthetic-mnist",
            784,
            synthetic_identity,
            generate,
            progress,
        )?;

        for (line, t) in [
            (T_FULL, &full),
            (T_BIG, &big),
            (T_NOISE, &noisy),
            (T_DILATION, &dilated),
            (T_MNIST, &mnist),
            (T_SYNTHETIC, &synthetic),
        ] {
            record.set_final(line, "test_accuracy", t.test.accuracy);
            record.set_final(line, "test_cross_entropy", t.test.cross_entropy);
            record.uses_model(line, t.stem.clone());
        }
        record.uses_model(VAE_64, vae.stem.clone());
        for r in &vae.curve {
            record.push(VAE_64, VAE_ELBO, -r.train_loss);
        }
        if let Some(last) = vae.curve.last() {
            record.set_final(VAE_64, "elbo", -last.train_loss);
        }
        Ok(Teachers {
            full,
            big,
            noise: noisy,
            dilation: dilated,
            mnist,
            synthetic,
            vae,
        })
    }
}

/// The big part and the test set of `fashion` through `map` (noise drawn from `rng`), for a
/// teacher of the mapped domain.
fn mapped_parts(
    fashion: &Fashion,
    map: &dyn DomainMap<f32>,
    mut rng: rand::rngs::StdRng,
) -> Result<(Dataset<f32>, Dataset<f32>)> {
    let mut apply = |d: &Dataset<f32>| -> Result<Dataset<f32>> {
        let x = map.apply(d.x().view(), &mut rng)?;
        Ok(Dataset::new(x, d.y().clone())?.with_classes(CLASSES)?)
    };
    Ok((apply(&fashion.big)?, apply(&fashion.test)?))
}

/// The paired sample of S1's VAE: `clothes` with, for each image, a random digit of the same
/// class index (drawn from `seed`).
fn paired(clothes: &Dataset<f32>, digits: &Digits, seed: u64) -> Result<(Dataset<f32>, Array2<f32>)> {
    let pairs = pair_by_class(
        &clothes.y().to_vec(),
        &digits.train.y().to_vec(),
        &mut seed_stream(seed, "pairing"),
    )
    .with_context(|| {
        format!(
            "the {} training digits (at most config key `mnist_train_size`) must include every \
             class index of the clothes",
            digits.train.len()
        )
    })?;
    Ok((clothes.clone(), digits.train.x().select(Axis(0), &pairs)))
}

/// Writes every image figure into `dir`, training (or loading) the 2-D-latent VAE.
#[allow(clippy::too_many_arguments)] // the run's parts, passed through once
fn write_figures(
    dir: &std::path::Path,
    c: &MultidomainConfig,
    ctx: &RunContext<'_>,
    fashion: &Fashion,
    digits: &Digits,
    teachers: &Teachers,
    progress: &mut Progress,
    record: &mut RunRecord,
) -> Result<()> {
    let mut identity = fashion.identity.clone();
    identity.push(DataFile::generated("part", "big"));
    identity.extend(digits.identity.clone());
    let pairs = || paired(&fashion.big, digits, c.vae_2d.seed);
    let vae_2d = models::vae(ctx, "s1-vae-2", &c.vae_2d, identity, pairs, progress)?;
    record.uses_model(VAE_2, vae_2d.stem.clone());
    for r in &vae_2d.curve {
        record.push(VAE_2, VAE_ELBO, -r.train_loss);
    }
    let (_, paired_digits) = paired(&fashion.big, digits, c.vae.seed)?;
    figures::noise_and_dilation(dir, &fashion.small, c.split_seed)?;
    figures::vae_pairs(dir, &teachers.vae.vae, &fashion.big, &paired_digits)?;
    figures::synthetic(dir, &teachers.vae.vae, &fashion.small, c.vae.seed)?;
    figures::latent_grids(dir, &vae_2d.vae)?;
    Ok(())
}

/// The report's notes: every reading and choice.
fn notes(c: &MultidomainConfig) -> Vec<String> {
    let noise = GaussianNoise::reading(c.noise_reading());
    vec![
        format!(
            "Loss: {}. S1's classification form with λ on the labels and 1 − λ on the teacher; \
             S1 gives no λ — the authors' code adds the two terms with equal weights (λ = 0.5).",
            c.loss().describe()
        ),
        format!(
            "Student: one hidden layer, 784-{}-10, ReLU (S1: \"one-layer network\"; the 0.879 on \
             all data needs a hidden layer; width from the authors' code), Adam at {}, batches \
             of {}, {} epochs (the authors' code: 20); the same initialisation and batch order \
             in every row of a seed. Figures are those after the last epoch.",
            c.student_hidden, c.student.learning_rate, c.student.batch_size, c.student.epochs
        ),
        format!(
            "Teachers: MLP 784-256-128-64-64-10 (576 inputs for the dilation row), ReLU, Adam at \
             {}, batches of {}, {} epochs (the authors' code: 10), {} (stored in OUT/models/). \
             The VAEs are trained once from vae.seed and vae_2d.seed.",
            c.teacher.learning_rate,
            c.teacher.batch_size,
            c.teacher.epochs,
            if c.teacher.per_seed {
                "trained per run seed (teacher.per_seed): the spread over seeds includes the \
                 teachers'"
                    .to_owned()
            } else {
                format!(
                    "trained once from teacher.seed = {} and shared by every row and run seed, \
                     as the authors train one teacher for their runs",
                    c.teacher.seed
                )
            }
        ),
        format!(
            "Noise row: {} (reading `{}`; the other reading is `{}`). The teacher is trained on \
             one noisy copy of the big part; the student's answers come from one draw of φ per \
             run seed (the authors redraw the noise every batch).",
            DomainMap::<f32>::describe(&noise),
            c.noise,
            if c.noise == "authors" { "seed-variance" } else { "authors" }
        ),
        "Dilation row: the authors' fixed kernel [[1,0,1],[0,1,0],[1,0,1]], dilation 2, no \
         padding: 28×28 → 24×24, so the teacher's input is 576-dimensional; the teacher is \
         trained on the transformed big part and reads φ(x) of the student's images."
            .to_owned(),
        format!(
            "{}; trained {} epochs (batches of {}) on the big part, each clothes image paired \
             with a random training digit of the same class index; −ELBO with both \
             reconstructions from one latent sample. {}. The 2-D-latent VAE of figure 8 is \
             trained the same way.",
            c.vae.model().describe(),
            c.vae.epochs,
            c.vae.batch_size,
            if c.vae_map_sample {
                "φ(x) = σ(digit_decoder(z)), z ~ q(z|x), one draw per run seed (the authors' code)"
            } else {
                "φ(x) = σ(digit_decoder(μ(x))), the mean code (the authors' code samples z)"
            }
        ),
        format!(
            "Synthetic MNIST: {} digits generated from each small-part image by sampling \
             z ~ q(z|x) (own sample per digit; the authors' code decodes one sample and repeats \
             it 70 times), {} held out to test the synthetic teacher.",
            c.synthetic_per_image, c.synthetic_test_size
        ),
        "The MNIST used (full or the 10,000-digit subset) is in the data row above: with the \
         subset the digit teacher learns from far fewer digits than 60,000 and is weaker, and \
         the VAE's pairs repeat digits."
            .to_owned(),
        "teacher accuracy on student data: how often f∘φ alone gets the student's training \
         labels right — what the teacher term can add. The no-map row hands clothes to a digit \
         teacher: its answers carry almost no information about the clothes' classes."
            .to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{resolve, Protocol};

    /// The error of `--set key=value` on the quick config.
    fn error_of(set: &str) -> String {
        let err = resolve(&Multidomain, Protocol::Quick, None, &[set.to_owned()]).unwrap_err();
        format!("{err:#}")
    }

    #[test]
    fn bad_values_are_errors_naming_the_key_and_the_range() {
        for (set, needles) in [
            ("lambda=1.5", &["`lambda`", "0 ≤ lambda ≤ 1"][..]),
            ("lambda=-0.1", &["`lambda`", "0 ≤ lambda ≤ 1"]),
            ("temperature=0", &["`temperature`", "0 < temperature"]),
            ("vae.latent=0", &["`vae.latent`", "1 ≤ latent"]),
            ("vae_2d.latent=0", &["`vae_2d.latent`", "1 ≤ latent"]),
            ("noise=\"loud\"", &["`noise`", "seed-variance", "authors"]),
            ("lambda_sweep=[0.5, 2.0]", &["`lambda_sweep`", "[0, 1]"]),
            ("lambda_sweep=[0.5, 0.1]", &["`lambda_sweep`", "increasing"]),
            ("small_size=3995", &["`small_size`", "train_size − 10"]),
            ("synthetic_test_size=3000", &["`synthetic_test_size`", "< 3000"]),
        ] {
            let err = error_of(set);
            for needle in needles {
                assert!(err.contains(needle), "{set}: lacks {needle}: {err}");
            }
        }
        for ok in ["noise=\"authors\"", "lambda_sweep=[]", "lambda=0", "lambda=1"] {
            resolve(&Multidomain, Protocol::Quick, None, &[ok.to_owned()]).unwrap();
        }
    }

    #[test]
    fn every_row_is_compared_and_plotted_and_every_plotted_line_is_a_row() {
        let comparison = Multidomain.comparison();
        for r in &ROWS {
            for metric in ["test_accuracy", "test_cross_entropy"] {
                assert!(
                    comparison
                        .iter()
                        .any(|c| c.line == r.line && c.metric == metric && c.published.is_some()),
                    "{} / {metric}",
                    r.line
                );
            }
            assert!(!plots_of(r.line).is_empty(), "{} is in no figure", r.line);
        }
        for (_, _, lines) in PLOTS {
            for line in lines {
                assert!(ROWS.iter().any(|r| r.line == *line), "{line}");
            }
        }
        let plotted: Vec<&str> = Multidomain.plots().iter().map(|p| p.metric).collect();
        for (a, c, _) in PLOTS {
            assert!(plotted.contains(&a) && plotted.contains(&c));
        }
    }

    #[test]
    fn the_sweep_plots_against_lambda() {
        let c = MultidomainConfig::default();
        assert_eq!(
            Multidomain.x_values(&c, SWEEP_ACCURACY).unwrap(),
            c.lambda_sweep
        );
        assert_eq!(c.lambda_sweep.len(), 11);
        assert!(Multidomain.x_values(&c, "fig2_small_test_accuracy").is_none());
    }
}
