//! What one run of one experiment produces ([`RunRecord`], filled by the experiment), and the
//! file it is saved as (`runs/<seed>.json`, [`RunFile`]: the record plus what identifies it).

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// The full protocol of the seed works, or the reduced `--quick` one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// The seed's protocol (or our documented reading of it).
    Full,
    /// `--quick`: a reduced protocol for smoke tests; its numbers are not comparable.
    Quick,
}

impl Protocol {
    /// `Quick` when `quick`.
    pub fn from_quick(quick: bool) -> Self {
        if quick {
            Protocol::Quick
        } else {
            Protocol::Full
        }
    }

    /// `"full"` or `"quick"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Full => "full",
            Protocol::Quick => "quick",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The metrics of one run. Curves and final values are keyed by *line* (a row of the seed's
/// table or a method: `"without teacher"`) and then by *metric* (`"test_accuracy"`); a curve
/// has one value per epoch (or per step, as the experiment's plot says).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Per-epoch values: `curves[line][metric][epoch − 1]`.
    pub curves: BTreeMap<String, BTreeMap<String, Vec<f64>>>,
    /// Final values: `finals[line][metric]`.
    pub finals: BTreeMap<String, BTreeMap<String, f64>>,
    /// The data actually used, e.g. "MNIST: 10,000-digit subset", one entry per data set.
    pub data: Vec<String>,
    /// The stored models used, by role: `models["teacher"] = "fashion-mlp-…-HASH"` (the stem
    /// of `OUT/models/`): two runs that name the same stem used the same model.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, String>,
}

impl RunRecord {
    /// Appends the value of `metric` for `line` at the next epoch.
    pub fn push(&mut self, line: &str, metric: &str, value: f64) {
        self.curves
            .entry(line.to_owned())
            .or_default()
            .entry(metric.to_owned())
            .or_default()
            .push(value);
    }

    /// Sets the final value of `metric` for `line`.
    pub fn set_final(&mut self, line: &str, metric: &str, value: f64) {
        self.finals
            .entry(line.to_owned())
            .or_default()
            .insert(metric.to_owned(), value);
    }

    /// Records a data set used (once, however often it is called with the same text).
    pub fn uses_data(&mut self, what: impl Into<String>) {
        let what = what.into();
        if !self.data.contains(&what) {
            self.data.push(what);
        }
    }

    /// Records that the stored model `stem` played `role` (e.g. a line's name) in the run.
    pub fn uses_model(&mut self, role: &str, stem: impl Into<String>) {
        self.models.insert(role.to_owned(), stem.into());
    }

    /// The final value of `metric` for `line`, if recorded.
    pub fn final_value(&self, line: &str, metric: &str) -> Option<f64> {
        self.finals.get(line)?.get(metric).copied()
    }

    /// Errors naming the first value that is not a finite number (JSON cannot hold it, and a
    /// NaN metric means the run diverged).
    pub fn check_finite(&self) -> Result<()> {
        for (line, metrics) in &self.curves {
            for (metric, values) in metrics {
                if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                    bail!(
                        "{line} / {metric} is {} at epoch {}: the run diverged (lower the \
                         learning rate)",
                        values[i],
                        i + 1
                    );
                }
            }
        }
        for (line, metrics) in &self.finals {
            for (metric, v) in metrics {
                if !v.is_finite() {
                    bail!("final {line} / {metric} is {v}: the run diverged");
                }
            }
        }
        Ok(())
    }
}

/// Version of the run file format.
pub const RUN_FORMAT: u32 = 1;

/// `runs/<seed>.json`: one finished run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunFile {
    /// [`RUN_FORMAT`].
    pub format: u32,
    /// The experiment's registered name.
    pub experiment: String,
    /// The seed of this run.
    pub seed: u64,
    /// Full or quick.
    pub protocol: Protocol,
    /// The hash of the config, protocol and experiment revision ([`super::toml_config::config_hash`]):
    /// a run is reused only when it matches.
    pub config_hash: String,
    /// Wall time of the run in seconds (the one field that differs between identical runs).
    pub wall_time_s: f64,
    /// The metrics.
    #[serde(flatten)]
    pub record: RunRecord,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_appends_per_line_and_metric() {
        let mut r = RunRecord::default();
        r.push("a", "acc", 0.5);
        r.push("a", "acc", 0.6);
        r.push("b", "acc", 0.1);
        r.set_final("a", "acc", 0.6);
        r.uses_data("synthetic");
        r.uses_data("synthetic");
        assert_eq!(r.curves["a"]["acc"], [0.5, 0.6]);
        assert_eq!(r.curves["b"]["acc"], [0.1]);
        assert_eq!(r.final_value("a", "acc"), Some(0.6));
        assert_eq!(r.final_value("b", "acc"), None);
        assert_eq!(r.data, ["synthetic"]);
    }

    #[test]
    fn non_finite_values_are_named() {
        let mut r = RunRecord::default();
        r.push("a", "ce", 1.0);
        r.check_finite().unwrap();
        r.push("a", "ce", f64::NAN);
        let msg = r.check_finite().unwrap_err().to_string();
        assert!(msg.contains("a / ce is NaN at epoch 2"), "{msg}");
        let mut r = RunRecord::default();
        r.set_final("b", "acc", f64::INFINITY);
        assert!(r
            .check_finite()
            .unwrap_err()
            .to_string()
            .contains("b / acc"));
    }

    #[test]
    fn run_files_round_trip_through_json() {
        let mut record = RunRecord::default();
        record.push("a", "acc", 0.1 + 0.2);
        record.set_final("a", "acc", 1.0 / 3.0);
        let file = RunFile {
            format: RUN_FORMAT,
            experiment: "x".into(),
            seed: 3,
            protocol: Protocol::Quick,
            config_hash: "abc".into(),
            wall_time_s: 0.5,
            record,
        };
        let text = serde_json::to_string_pretty(&file).unwrap();
        assert!(text.contains("\"protocol\": \"quick\""), "{text}");
        assert_eq!(serde_json::from_str::<RunFile>(&text).unwrap(), file);
    }
}
