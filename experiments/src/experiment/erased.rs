//! The registry's view of an experiment: configs as TOML tables, so that experiments with
//! different config types sit in one list. Every [`Experiment`] is a [`DynExperiment`].

use std::path::Path;

use anyhow::{bail, Context, Result};
use toml::{Table, Value};

use super::config::{Documented, FieldDoc};
use super::toml_config::{config_hash, flatten, overlay, parse_set, read_file, render};
use super::{
    Compare, DataNeed, Experiment, Figure, HeatmapSpec, Info, PlotSpec, Progress, Protocol,
    RunContext, RunRecord,
};

/// An experiment with its config type erased. Implemented for every [`Experiment`]; tables
/// passed in must have been checked by [`DynExperiment::check`] (as [`resolve`] does).
pub trait DynExperiment: Sync {
    /// Name, description, what it reproduces.
    fn info(&self) -> Info;
    /// Every config key with its documentation.
    fn fields(&self) -> Vec<FieldDoc>;
    /// The default config of `protocol`, every key present.
    fn defaults(&self, protocol: Protocol) -> Table;
    /// Parses and validates a config; the error names the key.
    fn check(&self, table: &Table) -> Result<()>;
    /// The data the run needs.
    fn data(&self, table: &Table) -> Result<Vec<DataNeed>>;
    /// One run with one seed.
    fn run(
        &self,
        table: &Table,
        seed: u64,
        data: &RunContext<'_>,
        progress: &mut Progress,
    ) -> Result<RunRecord>;
    /// The comparison rows of the report.
    fn comparison(&self) -> Vec<Compare>;
    /// The plots of the report.
    fn plots(&self) -> Vec<PlotSpec>;
    /// The report's remarks for this config.
    fn notes(&self, table: &Table) -> Result<Vec<String>>;
    /// The report's heat maps for this config.
    fn heatmaps(&self, table: &Table) -> Result<Vec<HeatmapSpec>>;
    /// The x coordinates of plot `metric`'s points for this config (`None`: the epochs).
    fn x_values(&self, table: &Table, metric: &str) -> Result<Option<Vec<f64>>>;
    /// The image files of this config's runs, for the report.
    fn figures(&self, table: &Table) -> Result<Vec<Figure>>;
}

fn to_table<T: serde::Serialize>(value: &T) -> Table {
    match Value::try_from(value) {
        Ok(Value::Table(t)) => t,
        other => panic!("a config must serialise to a TOML table, got {other:?}"),
    }
}

/// Deserialises a typed config; when that fails, finds the key whose value is at fault by
/// trying each key alone on the defaults, so that the message can name it.
fn typed<C: Documented + serde::de::DeserializeOwned + serde::Serialize + Default>(
    name: &str,
    table: &Table,
) -> Result<C> {
    match Value::Table(table.clone()).try_into::<C>() {
        Ok(c) => Ok(c),
        Err(whole) => {
            let defaults = to_table(&C::default());
            for (key, value) in flatten(table.clone()) {
                let mut one = defaults.clone();
                overlay(name, &mut one, &key, value, "in the config")?;
                if let Err(e) = Value::Table(one).try_into::<C>() {
                    bail!("config key `{key}` of experiment {name}: {e}");
                }
            }
            bail!("config of experiment {name}: {whole}")
        }
    }
}

impl<E: Experiment> DynExperiment for E {
    fn info(&self) -> Info {
        Experiment::info(self)
    }

    fn fields(&self) -> Vec<FieldDoc> {
        E::Config::fields()
    }

    fn defaults(&self, protocol: Protocol) -> Table {
        match protocol {
            Protocol::Full => to_table(&E::Config::default()),
            Protocol::Quick => to_table(&self.quick_config()),
        }
    }

    fn check(&self, table: &Table) -> Result<()> {
        let name = Experiment::info(self).name;
        let config: E::Config = typed(name, table)?;
        config
            .validate()
            .and_then(|()| self.check_config(&config))
            .with_context(|| format!("invalid config for experiment {name}"))
    }

    fn data(&self, table: &Table) -> Result<Vec<DataNeed>> {
        let config = typed(Experiment::info(self).name, table)?;
        Ok(Experiment::data(self, &config))
    }

    fn run(
        &self,
        table: &Table,
        seed: u64,
        data: &RunContext<'_>,
        progress: &mut Progress,
    ) -> Result<RunRecord> {
        let config = typed(Experiment::info(self).name, table)?;
        Experiment::run(self, &config, seed, data, progress)
    }

    fn comparison(&self) -> Vec<Compare> {
        Experiment::comparison(self)
    }

    fn plots(&self) -> Vec<PlotSpec> {
        Experiment::plots(self)
    }

    fn notes(&self, table: &Table) -> Result<Vec<String>> {
        let config = typed(Experiment::info(self).name, table)?;
        Ok(Experiment::notes(self, &config))
    }

    fn heatmaps(&self, table: &Table) -> Result<Vec<HeatmapSpec>> {
        let config = typed(Experiment::info(self).name, table)?;
        Ok(Experiment::heatmaps(self, &config))
    }

    fn x_values(&self, table: &Table, metric: &str) -> Result<Option<Vec<f64>>> {
        let config = typed(Experiment::info(self).name, table)?;
        Ok(Experiment::x_values(self, &config, metric))
    }

    fn figures(&self, table: &Table) -> Result<Vec<Figure>> {
        let config = typed(Experiment::info(self).name, table)?;
        Ok(Experiment::figures(self, &config))
    }
}

/// A config ready to run: every key present and valid, with its hash.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// Full or quick.
    pub protocol: Protocol,
    /// Every key with its value.
    pub table: Table,
    /// [`config_hash`] of it.
    pub hash: String,
}

/// The config of `exp`: the `protocol`'s defaults, then the keys of `file`, then `sets`
/// (`key=value`), each checked; then the whole config validated.
pub fn resolve(
    exp: &dyn DynExperiment,
    protocol: Protocol,
    file: Option<&Path>,
    sets: &[String],
) -> Result<Resolved> {
    let info = exp.info();
    let mut table = exp.defaults(protocol);
    if let Some(path) = file {
        let source = format!("in {}", path.display());
        for (key, value) in flatten(read_file(path)?) {
            overlay(info.name, &mut table, &key, value, &source)?;
        }
    }
    for set in sets {
        let (key, value) = parse_set(set)?;
        overlay(info.name, &mut table, &key, value, "from --set")?;
    }
    exp.check(&table)?;
    let hash = config_hash(info.name, info.revision, protocol.as_str(), &table);
    Ok(Resolved {
        protocol,
        table,
        hash,
    })
}

impl Resolved {
    /// The config as a commented TOML file (`config.toml`, `--print-config`).
    pub fn render(&self, exp: &dyn DynExperiment) -> String {
        let info = exp.info();
        let protocol = match self.protocol {
            Protocol::Full => "full".to_owned(),
            Protocol::Quick => {
                "QUICK (--quick): a reduced protocol; its numbers are not comparable with the \
                 published ones"
                    .to_owned()
            }
        };
        let quick_flag = match self.protocol {
            Protocol::Full => "",
            Protocol::Quick => " --quick",
        };
        let header = [
            format!("distillery experiment {}: {}", info.name, info.description),
            format!("Reproduces: {}", info.reproduces),
            format!("Protocol: {protocol}"),
            format!("Config hash: {} (revision {})", self.hash, info.revision),
            format!(
                "Use: distillery run {}{quick_flag} --config THIS_FILE",
                info.name
            ),
        ];
        render(&header, &exp.fields(), &self.table)
    }
}

impl std::fmt::Debug for dyn DynExperiment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "experiment {}", self.info().name)
    }
}
