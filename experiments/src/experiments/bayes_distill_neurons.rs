//! `bayes-distill-neurons`: S4's Bayesian distillation by neuron removal, the synthetic
//! regression teacher [10,100,50,1] into the student [10,10,10,1] (the shared code is in
//! `bayes_distill/`).

use anyhow::Result;

use super::bayes_distill::lines::{comparison, plots, PublishedAreas};
use super::bayes_distill::synthetic::run_synthetic;
use super::bayes_distill::{
    check_synthetic, steps_f64, synthetic_notes, BayesNeuronsConfig, NEURON_LABELS,
};
use crate::experiment::{
    Compare, ConfigError, Experiment, Info, PlotSpec, Progress, RunContext, RunRecord,
};

/// The experiment (registered in `super`).
pub struct BayesDistillNeurons;

impl Experiment for BayesDistillNeurons {
    type Config = BayesNeuronsConfig;

    fn info(&self) -> Info {
        Info {
            name: "bayes-distill-neurons",
            description: "Bayesian distillation on S4's synthetic regression: the teacher \
                          [10,100,50,1]'s full Laplace posterior, conditioned on the removed \
                          neurons, is the prior of a variational [10,10,10,1] student; against \
                          no teacher and Hinton distillation, and the four removal orders.",
            reproduces: "S4 (Grabovoy, 2021), Bayesian distillation table, row \"synthetic, \
                         neuron removal\"",
            revision: 1,
        }
    }

    fn quick_config(&self) -> BayesNeuronsConfig {
        BayesNeuronsConfig::default().quick()
    }

    fn check_config(&self, c: &BayesNeuronsConfig) -> Result<(), ConfigError> {
        check_synthetic(&c.parts())
    }

    fn run(
        &self,
        c: &BayesNeuronsConfig,
        seed: u64,
        ctx: &RunContext<'_>,
        progress: &mut Progress,
    ) -> Result<RunRecord> {
        run_synthetic(&c.parts(), seed, ctx, progress)
    }

    fn comparison(&self) -> Vec<Compare> {
        comparison(
            &PublishedAreas {
                distil_student: 16559.0,
                distil_student_all: 16864.0,
                hinton: None,
            },
            &NEURON_LABELS,
        )
    }

    fn plots(&self) -> Vec<PlotSpec> {
        plots()
    }

    fn x_values(&self, c: &BayesNeuronsConfig, _metric: &str) -> Option<Vec<f64>> {
        Some(steps_f64(c.data.m_train, &c.student))
    }

    fn notes(&self, c: &BayesNeuronsConfig) -> Vec<String> {
        synthetic_notes(&c.parts())
    }
}
