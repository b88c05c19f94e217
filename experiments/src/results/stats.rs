//! The runs of one experiment gathered from a tree, and their statistics over seeds.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};

use super::{Plan, Skipped, Tree};
use crate::experiment::{DynExperiment, RunFile};

/// Mean and spread of one quantity over seeds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    /// How many values.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// The sample standard deviation `√(Σ(v − mean)² / (n − 1))` (0 for one value), as the
    /// seed works' "± std" over runs.
    pub std: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Stat {
    /// The statistics of `values`, in their order (so that the same values give the same
    /// bits); `None` when empty.
    pub fn of(values: &[f64]) -> Option<Stat> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let (min, max) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        // Values equal up to f64 round-off (a few ulps, e.g. one teacher's accuracy shared by
        // every seed but summed in another order) have no spread; the two-pass formula would
        // show it as a std of 1e-16.
        let spread = max - min > 1e-12 * max.abs().max(min.abs());
        let var = if n > 1 && spread {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Some(Stat {
            n,
            mean,
            std: var.sqrt(),
            min,
            max,
        })
    }
}

/// An experiment's state in a tree.
pub struct Gathered {
    /// What was asked.
    pub plan: Plan,
    /// The finished runs matching the plan's config hash, by increasing seed.
    pub runs: Vec<RunFile>,
    /// Planned seeds with no matching run.
    pub missing_seeds: Vec<u64>,
    /// Planned seeds whose run file is from another config (ignored).
    pub stale_seeds: Vec<u64>,
    /// The skip record, if the experiment was skipped somewhere for missing data.
    pub skipped: Option<Skipped>,
}

impl Gathered {
    /// Reads the plan and runs of `exp` from `tree`.
    pub fn read(tree: &Tree, exp: &dyn DynExperiment) -> Result<Gathered> {
        let name = exp.info().name;
        let Some(plan) = tree.plan(name)? else {
            bail!(
                "{} has no plan.json: not a results directory of `distillery run` or \
                 `reproduce`",
                tree.dir(name).display()
            );
        };
        let mut seeds = plan.seeds.clone();
        seeds.sort_unstable();
        seeds.dedup();
        let (mut runs, mut missing_seeds, mut stale_seeds) = (Vec::new(), Vec::new(), Vec::new());
        for seed in seeds {
            match tree.run(name, seed)? {
                Some(run) if run.config_hash == plan.config_hash => runs.push(run),
                Some(_) => stale_seeds.push(seed),
                None => missing_seeds.push(seed),
            }
        }
        let skipped = tree.skipped(name)?;
        Ok(Gathered {
            plan,
            runs,
            missing_seeds,
            stale_seeds,
            skipped,
        })
    }

    /// The final values of `metric` of `line`, one per run that has it.
    pub fn finals(&self, line: &str, metric: &str) -> Vec<f64> {
        self.runs
            .iter()
            .filter_map(|r| r.record.final_value(line, metric))
            .collect()
    }

    /// Every `(line, metric)` with a final value in some run, sorted.
    pub fn final_keys(&self) -> BTreeSet<(String, String)> {
        self.runs
            .iter()
            .flat_map(|r| {
                r.record.finals.iter().flat_map(|(line, metrics)| {
                    metrics.keys().map(move |m| (line.clone(), m.clone()))
                })
            })
            .collect()
    }

    /// For `metric`, each line's curve statistics per epoch (over the runs that have the
    /// curve, up to the shortest of them).
    pub fn curves(&self, metric: &str) -> BTreeMap<String, Vec<Stat>> {
        let mut by_line: BTreeMap<String, Vec<&Vec<f64>>> = BTreeMap::new();
        for run in &self.runs {
            for (line, metrics) in &run.record.curves {
                if let Some(curve) = metrics.get(metric) {
                    by_line.entry(line.clone()).or_default().push(curve);
                }
            }
        }
        by_line
            .into_iter()
            .map(|(line, curves)| {
                let len = curves.iter().map(|c| c.len()).min().unwrap_or(0);
                let stats = (0..len)
                    .filter_map(|i| Stat::of(&curves.iter().map(|c| c[i]).collect::<Vec<_>>()))
                    .collect();
                (line, stats)
            })
            .filter(|(_, stats): &(String, Vec<Stat>)| !stats.is_empty())
            .collect()
    }

    /// The data actually used, over all runs, in order of first appearance.
    pub fn data_used(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for d in self.runs.iter().flat_map(|r| &r.record.data) {
            if !out.contains(d) {
                out.push(d.clone());
            }
        }
        out
    }

    /// Each stored model the runs used, as `role: stem (seeds …)`, in order of first use.
    pub fn models_used(&self) -> Vec<String> {
        let mut out: Vec<(String, String, Vec<u64>)> = Vec::new();
        for run in &self.runs {
            for (role, stem) in &run.record.models {
                match out.iter_mut().find(|(r, s, _)| r == role && s == stem) {
                    Some((_, _, seeds)) => seeds.push(run.seed),
                    None => out.push((role.clone(), stem.clone(), vec![run.seed])),
                }
            }
        }
        out.into_iter()
            .map(|(role, stem, seeds)| {
                let seeds: Vec<String> = seeds.iter().map(u64::to_string).collect();
                format!("{role}: `{stem}` (seeds {})", seeds.join(", "))
            })
            .collect()
    }

    /// The total wall time of the runs, in seconds.
    pub fn wall_time(&self) -> f64 {
        self.runs.iter().map(|r| r.wall_time_s).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_uses_the_sample_standard_deviation() {
        // values 1, 2, 3, 4: mean 2.5, Σ(v − 2.5)² = 5, sample variance 5/3
        let s = Stat::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(s.n, 4);
        assert_eq!(s.mean, 2.5);
        assert!((s.std - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!((s.min, s.max), (1.0, 4.0));
        let one = Stat::of(&[7.0]).unwrap();
        assert_eq!((one.mean, one.std), (7.0, 0.0));
        assert!(Stat::of(&[]).is_none());
    }

    #[test]
    fn equal_values_have_no_spread() {
        // 0.863 five times, one of them an ulp off: the two-pass formula gave a std of 1e-16
        let v = 0.863_f64;
        let ulp_off = f64::from_bits(v.to_bits() + 1);
        let s = Stat::of(&[v, v, ulp_off, v, v]).unwrap();
        assert_eq!(s.std, 0.0);
        assert_eq!((s.min, s.max), (v, ulp_off));
        // a real spread far below the values stays
        let s = Stat::of(&[0.863, 0.863 + 1e-9]).unwrap();
        assert!((s.std - 1e-9 / 2f64.sqrt()).abs() < 1e-15, "{}", s.std);
    }
}
