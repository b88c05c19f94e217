//! `bayes-distill-layers`: S4's Bayesian distillation by neuron and layer removal, the
//! synthetic regression teacher [10,100,50,1] into the student [10,50,1] (the shared code is in
//! `bayes_distill/`).

use anyhow::Result;

use super::bayes_distill::lines::{comparison, plots, PublishedAreas};
use super::bayes_distill::synthetic::run_synthetic;
use super::bayes_distill::{
    check_synthetic, steps_f64, synthetic_notes, BayesLayersConfig, LAYER_LABELS,
};
use crate::experiment::{
    Compare, ConfigError, Experiment, Info, PlotSpec, Progress, RunContext, RunRecord,
};

/// The experiment (registered in `super`).
pub struct BayesDistillLayers;

impl Experiment for BayesDistillLayers {
    type Config = BayesLayersConfig;

    fn info(&self) -> Info {
        Info {
            name: "bayes-distill-layers",
            description: "Bayesian distillation on S4's synthetic regression by neuron and \
                          layer removal: the teacher [10,100,50,1]'s full Laplace posterior, \
                          conditioned on 50 removed neurons and on its middle layer being the \
                          identity, is the prior of a variational [10,50,1] student.",
            reproduces: "S4 (Grabovoy, 2021), Bayesian distillation table, row \"synthetic, \
                         layer removal\"; the Hinton row of the author's slides",
            revision: 1,
        }
    }

    fn quick_config(&self) -> BayesLayersConfig {
        BayesLayersConfig {
            student_hidden: vec![20],
            ..BayesLayersConfig::default().quick()
        }
    }

    fn check_config(&self, c: &BayesLayersConfig) -> Result<(), ConfigError> {
        check_synthetic(&c.parts())
    }

    fn run(
        &self,
        c: &BayesLayersConfig,
        seed: u64,
        ctx: &RunContext<'_>,
        progress: &mut Progress,
    ) -> Result<RunRecord> {
        run_synthetic(&c.parts(), seed, ctx, progress)
    }

    fn comparison(&self) -> Vec<Compare> {
        comparison(
            &PublishedAreas {
                distil_student: 23310.0,
                distil_student_all: 25506.0,
                hinton: Some(10244.0),
            },
            &LAYER_LABELS,
        )
    }

    fn plots(&self) -> Vec<PlotSpec> {
        plots()
    }

    fn x_values(&self, c: &BayesLayersConfig, _metric: &str) -> Option<Vec<f64>> {
        Some(steps_f64(c.data.m_train, &c.student))
    }

    fn notes(&self, c: &BayesLayersConfig) -> Vec<String> {
        synthetic_notes(&c.parts())
    }
}
