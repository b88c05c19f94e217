//! An experiment that exists only for the CLI tests: it needs a file that the tests either
//! supply or not, to exercise skipping with a fetch hint and running after the data appear.
//! Registered only when [`ENV_VAR`] is set to `1`; invisible otherwise.

use anyhow::{Context, Result};

use crate::config;
use crate::experiment::config::ge;
use crate::experiment::{
    Compare, DataNeed, DynExperiment, Experiment, Info, PlotSpec, Progress, RunContext, RunRecord,
};

/// Set to `1` to register the test-only experiments.
pub const ENV_VAR: &str = "DISTILLERY_TEST_EXPERIMENTS";

/// The test-only experiments, when enabled.
pub fn experiments() -> Vec<&'static dyn DynExperiment> {
    if std::env::var(ENV_VAR).as_deref() == Ok("1") {
        vec![&NeedsFile]
    } else {
        Vec::new()
    }
}

config! {
    /// Configuration of `test-needs-file`.
    pub struct NeedsFileConfig {
        /// The file to count the lines of (test input).
        pub input: String = String::new(),
        /// Curve points to record (test input).
        #[allowed(ge(1).le(100))]
        pub steps: usize = 3,
    }
}

/// Counts the lines of a file the user must supply.
pub struct NeedsFile;

impl Experiment for NeedsFile {
    type Config = NeedsFileConfig;

    fn info(&self) -> Info {
        Info {
            name: "test-needs-file",
            description: "Test only: counts the lines of a user-supplied file.",
            reproduces: "nothing (test only)",
            revision: 1,
        }
    }

    fn quick_config(&self) -> NeedsFileConfig {
        NeedsFileConfig {
            steps: 2,
            ..NeedsFileConfig::default()
        }
    }

    fn data(&self, c: &NeedsFileConfig) -> Vec<DataNeed> {
        vec![DataNeed::File {
            key: "input",
            path: c.input.clone(),
            what: "the test input file",
            how_to_get: "write any text file",
        }]
    }

    fn run(
        &self,
        c: &NeedsFileConfig,
        seed: u64,
        _: &RunContext<'_>,
        _: &mut Progress,
    ) -> Result<RunRecord> {
        let text = std::fs::read_to_string(&c.input).with_context(|| c.input.clone())?;
        let lines = text.lines().count() as f64;
        let mut record = RunRecord::default();
        record.uses_data("a test file");
        for step in 0..c.steps {
            record.push("file", "lines", lines + (seed + step as u64) as f64);
        }
        record.set_final("file", "lines", lines + seed as f64);
        Ok(record)
    }

    fn comparison(&self) -> Vec<Compare> {
        vec![Compare {
            label: "lines",
            line: "file",
            metric: "lines",
            published: None,
            note: "",
        }]
    }

    fn plots(&self) -> Vec<PlotSpec> {
        vec![PlotSpec {
            metric: "lines",
            x_label: "step",
        }]
    }
}
