//! Configs at the registry boundary, as TOML tables: defaults, then a `--config` file, then
//! `--set key=value` overrides, each key checked against the defaults (unknown keys and wrong
//! types are errors naming the key); the printed form with every key's documentation; and the
//! hash that decides whether a finished run can be reused.
//!
//! A section of a config is a nested table (`[teacher]`); its keys are addressed as
//! `teacher.epochs` (dotted keys) in `--set`, in errors and in [`leaf_keys`].

use std::path::Path;

use anyhow::{bail, Context, Result};
use toml::{Table, Value};

use super::config::FieldDoc;

/// Parses `--set` arguments: `key=value`, the value in TOML syntax (`0.1`, `true`, `"adam"`),
/// or a bare word taken as a string (`adam`).
pub fn parse_set(arg: &str) -> Result<(String, Value)> {
    let Some((key, raw)) = arg.split_once('=') else {
        bail!("--set expects key=value (e.g. --set epochs=20), got `{arg}`");
    };
    let key = key.trim();
    if key.is_empty() {
        bail!("--set expects key=value with a non-empty key, got `{arg}`");
    }
    let raw = raw.trim();
    let value = match format!("v = {raw}").parse::<Table>() {
        Ok(mut t) => t.remove("v").expect("the key just parsed"),
        Err(_) => Value::String(raw.to_owned()),
    };
    Ok((key.to_owned(), value))
}

/// Reads a config file as a table (syntax errors keep toml's line and column).
pub fn read_file(path: &Path) -> Result<Table> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    text.parse::<Table>().with_context(|| {
        format!(
            "config file {} is not valid TOML (see `distillery run NAME --print-config` for the \
             expected form)",
            path.display()
        )
    })
}

/// The keys of a file's table as dotted paths to their values (`[teacher] epochs = 5` gives
/// `("teacher.epochs", 5)`), in the file's order of sections.
pub fn flatten(table: Table) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (key, value) in table {
        match value {
            Value::Table(inner) => out.extend(
                flatten(inner)
                    .into_iter()
                    .map(|(k, v)| (format!("{key}.{k}"), v)),
            ),
            other => out.push((key, other)),
        }
    }
    out
}

/// Every key of `table` that holds a value (not a section), dotted, sorted.
pub fn leaf_keys(table: &Table) -> Vec<String> {
    let mut keys: Vec<String> = flatten(table.clone()).into_iter().map(|(k, _)| k).collect();
    keys.sort_unstable();
    keys
}

/// Overlays `value` on the value at the dotted `key` of `table`, where `table` holds every key
/// with its default: the key must exist and the value must have the default's type (an integer
/// is accepted for a float). `source` says where the value came from, for the message.
pub fn overlay(
    experiment: &str,
    table: &mut Table,
    key: &str,
    value: Value,
    source: &str,
) -> Result<()> {
    let unknown = |table: &Table| {
        anyhow::anyhow!(
            "unknown config key `{key}` ({source}) for experiment {experiment}; its keys are: {}. \
             `distillery run {experiment} --print-config` prints them with their documentation",
            leaf_keys(table).join(", ")
        )
    };
    let path: Vec<&str> = key.split('.').collect();
    let (last, sections) = path.split_last().expect("split yields one part at least");
    let mut slot = &mut *table;
    for section in sections {
        if !matches!(slot.get(*section), Some(Value::Table(_))) {
            return Err(unknown(table));
        }
        let Some(Value::Table(inner)) = slot.get_mut(*section) else {
            unreachable!("checked just above")
        };
        slot = inner;
    }
    let Some(default) = slot.get(*last) else {
        return Err(unknown(table));
    };
    let value = match (default, value) {
        (Value::Table(_), _) => bail!(
            "config key `{key}` ({source}) of experiment {experiment} is a section: set its \
             keys (`{key}.KEY=VALUE`), not the section itself"
        ),
        (Value::Float(_), Value::Integer(i)) => Value::Float(i as f64),
        (d, v) if std::mem::discriminant(d) == std::mem::discriminant(&v) => v,
        (d, v) => bail!(
            "config key `{key}` ({source}) of experiment {experiment} expects {}, got {} `{v}`",
            type_name(d),
            type_name(&v)
        ),
    };
    slot.insert((*last).to_owned(), value);
    Ok(())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "true or false",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

/// The config as TOML with each key's documentation and allowed range as comments above it,
/// under a header of comment lines: the plain keys first, then each section as a `[table]`
/// under its documentation (TOML puts a table's keys after its header, so plain keys cannot
/// follow one).
pub fn render(header: &[String], fields: &[FieldDoc], table: &Table) -> String {
    let mut out = String::new();
    for line in header {
        out.push_str(&comment(line));
    }
    let flat: Table = flatten(table.clone()).into_iter().collect();
    let (plain, nested): (Vec<&FieldDoc>, Vec<&FieldDoc>) =
        fields.iter().partition(|f| !f.key.contains('.'));
    for field in plain {
        render_key(&mut out, field, &field.key, &flat);
    }
    let mut current: Option<&str> = None;
    for field in nested {
        let (section, key) = field.key.split_once('.').expect("nested keys are dotted");
        if current != Some(section) {
            current = Some(section);
            out.push('\n');
            for line in field.section_doc.as_deref().unwrap_or("").lines() {
                out.push_str(&comment(line));
            }
            out.push_str(&format!("[{section}]\n"));
        }
        render_key(&mut out, field, key, &flat);
    }
    out
}

/// One key: its documentation, its allowed range and `key = value` (`key` relative to its
/// section), the value read from `flat` at the full dotted key.
fn render_key(out: &mut String, field: &FieldDoc, key: &str, flat: &Table) {
    out.push('\n');
    for line in field.doc.lines() {
        out.push_str(&comment(line));
    }
    if let Some(allowed) = &field.allowed {
        out.push_str(&comment(&format!("allowed: {allowed}")));
    }
    let mut one = Table::new();
    if let Some(v) = flat.get(&field.key) {
        one.insert(key.to_owned(), v.clone());
    }
    out.push_str(&toml::to_string(&one).expect("a table of plain values serialises"));
}

fn comment(line: &str) -> String {
    if line.is_empty() {
        "#\n".to_owned()
    } else {
        format!("# {line}\n")
    }
}

/// The identity of a run's inputs: a SHA-256 prefix over the experiment's name and revision,
/// the protocol and the canonical TOML of the config (keys sorted).
pub fn config_hash(experiment: &str, revision: u32, protocol: &str, table: &Table) -> String {
    let canonical = toml::to_string(table).expect("a table of plain values serialises");
    let text = format!("{experiment}\nrevision {revision}\n{protocol}\n{canonical}");
    nn::data::sha256_hex(text.as_bytes())[..16].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Table {
        "epochs = 10\nlr = 0.1\nname = \"sgd\"\nflag = false"
            .parse()
            .unwrap()
    }

    #[test]
    fn set_values_parse_as_toml_or_as_bare_strings() {
        assert_eq!(
            parse_set("lr=0.5").unwrap(),
            ("lr".into(), Value::Float(0.5))
        );
        assert_eq!(
            parse_set(" epochs = 3 ").unwrap(),
            ("epochs".into(), Value::Integer(3))
        );
        assert_eq!(
            parse_set("name=adam").unwrap().1,
            Value::String("adam".into())
        );
        assert_eq!(
            parse_set("name=\"a b\"").unwrap().1,
            Value::String("a b".into())
        );
        assert!(parse_set("novalue")
            .unwrap_err()
            .to_string()
            .contains("key=value"));
        assert!(parse_set("=3").is_err());
    }

    #[test]
    fn overlay_checks_the_key_and_the_type() {
        let mut t = defaults();
        overlay("x", &mut t, "lr", Value::Integer(2), "--set").unwrap();
        assert_eq!(t["lr"], Value::Float(2.0));
        let err = overlay("x", &mut t, "lrr", Value::Float(1.0), "--set").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unknown config key `lrr`"), "{msg}");
        assert!(msg.contains("epochs, flag, lr, name"), "{msg}");
        let err = overlay("x", &mut t, "epochs", Value::Float(1.5), "file").unwrap_err();
        assert!(
            err.to_string()
                .contains("`epochs` (file) of experiment x expects an integer"),
            "{err}"
        );
        let err = overlay("x", &mut t, "flag", Value::String("yes".into()), "f").unwrap_err();
        assert!(err.to_string().contains("expects true or false"), "{err}");
    }

    #[test]
    fn rendered_config_parses_back_to_the_same_table() {
        let fields = ["epochs", "lr", "name", "flag"].map(|key| FieldDoc {
            key: key.to_owned(),
            doc: format!("The {key}.\nMore."),
            allowed: (key == "lr").then(|| "0 < lr".to_owned()),
            section_doc: None,
        });
        let text = render(&["header".into()], &fields, &defaults());
        assert!(text.starts_with("# header\n"), "{text}");
        assert!(text.contains("# allowed: 0 < lr\nlr = 0.1\n"), "{text}");
        assert_eq!(text.parse::<Table>().unwrap(), defaults());
    }

    fn nested() -> Table {
        "rate = 0.5\n[teacher]\nepochs = 20\nseed = 0"
            .parse()
            .unwrap()
    }

    #[test]
    fn dotted_keys_reach_into_sections() {
        let mut t = nested();
        overlay("x", &mut t, "teacher.epochs", Value::Integer(5), "--set").unwrap();
        assert_eq!(t["teacher"]["epochs"], Value::Integer(5));
        let err = overlay("x", &mut t, "teacher.epoch", Value::Integer(5), "--set").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unknown config key `teacher.epoch`"), "{msg}");
        assert!(msg.contains("rate, teacher.epochs, teacher.seed"), "{msg}");
        let err = overlay("x", &mut t, "rate.x", Value::Integer(5), "--set").unwrap_err();
        assert!(
            err.to_string().contains("unknown config key `rate.x`"),
            "{err}"
        );
        let err = overlay("x", &mut t, "teacher", Value::Integer(5), "--set").unwrap_err();
        assert!(err.to_string().contains("is a section"), "{err}");
        let err = overlay("x", &mut t, "teacher.seed", Value::Float(0.5), "f").unwrap_err();
        assert!(err.to_string().contains("expects an integer"), "{err}");
    }

    #[test]
    fn a_file_section_flattens_to_dotted_keys() {
        let file: Table = "rate = 1.0\n[teacher]\nseed = 3".parse().unwrap();
        let flat = flatten(file);
        assert_eq!(
            flat,
            [
                ("rate".to_owned(), Value::Float(1.0)),
                ("teacher.seed".to_owned(), Value::Integer(3))
            ]
        );
    }

    #[test]
    fn rendered_sections_parse_back_to_the_same_table() {
        let doc = |key: &str, section: Option<&str>| FieldDoc {
            key: key.to_owned(),
            doc: format!("The {key}."),
            allowed: None,
            section_doc: section.map(str::to_owned),
        };
        // a section declared before a plain key: the plain key is still written first
        let fields = [
            doc("teacher.epochs", Some("The teacher.")),
            doc("teacher.seed", Some("The teacher.")),
            doc("rate", None),
        ];
        let text = render(&[], &fields, &nested());
        assert!(text.contains("# The teacher.\n[teacher]\n"), "{text}");
        assert!(text.find("rate = 0.5") < text.find("[teacher]"), "{text}");
        assert_eq!(text.parse::<Table>().unwrap(), nested());
    }

    #[test]
    fn the_hash_changes_with_every_input() {
        let t = defaults();
        let h = config_hash("x", 1, "full", &t);
        assert_eq!(h.len(), 16);
        assert_eq!(h, config_hash("x", 1, "full", &t));
        assert_ne!(h, config_hash("y", 1, "full", &t));
        assert_ne!(h, config_hash("x", 2, "full", &t));
        assert_ne!(h, config_hash("x", 1, "quick", &t));
        let mut t2 = t.clone();
        t2.insert("lr".into(), Value::Float(0.10000000000000002));
        assert_ne!(h, config_hash("x", 1, "full", &t2));
    }
}
