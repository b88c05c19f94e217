//! Typed experiment configurations: the [`config!`](crate::config) macro declares a config
//! struct, its defaults, the documentation of every key and each key's allowed range in one
//! place, so that `--print-config`, validation and the TOML files can never disagree.
//!
//! A field whose type is itself declared with `config!` is a *section*: a nested TOML table
//! (`[teacher]`), whose keys are written `teacher.epochs` in `--set` and in errors. A section
//! type is declared once, with its documented defaults and ranges, and shared by every
//! experiment that needs it; an experiment overrides only the defaults that differ, saying why
//! in the field's doc comment.

use std::fmt::{self, Display};

/// One key of a configuration, for `--print-config` and for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDoc {
    /// The TOML key (the Rust field name); `section.key` for a key of a section.
    pub key: String,
    /// The field's doc comment: what it is and where its default comes from.
    pub doc: String,
    /// The allowed values, e.g. `1 ≤ epochs ≤ 100000`, when the field declares a range.
    pub allowed: Option<String>,
    /// For a key of a section: the doc comment of the section's field in the enclosing config
    /// (what the section is for there, and why its defaults differ, if they do).
    pub section_doc: Option<String>,
}

/// A configuration value that is out of range or inconsistent with another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The key at fault.
    pub key: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config key `{}`: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// What `config!` implements for a config struct.
pub trait Documented {
    /// Every key in declaration order (the keys of a section in place of the section), with
    /// its documentation and allowed range.
    fn fields() -> Vec<FieldDoc>;
    /// Checks every key that declares an allowed range, sections included; the error names the
    /// key (`section.key` inside a section), its value and the range.
    fn validate(&self) -> Result<(), ConfigError>;
}

/// The type of a config field: a plain value, or a section (a struct declared with
/// [`config!`](crate::config), which implements this trait to say so).
pub trait FieldValue {
    /// The keys of a section; `None` for a plain value.
    fn section_fields() -> Option<Vec<FieldDoc>> {
        None
    }
    /// Checks a section's keys; nothing for a plain value (its range is the field's).
    fn validate_section(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

macro_rules! plain_values {
    ($($t:ty),*) => {$(impl FieldValue for $t {})*};
}
plain_values!(bool, u32, u64, usize, i32, i64, f64, String);

impl<T> FieldValue for Vec<T> {}

/// The entries of field `key` (documented by `doc`, allowed by `allowed`) of type `T`: one for
/// a plain value, the section's keys prefixed by `key.` for a section.
pub fn field_docs<T: FieldValue>(key: &str, doc: String, allowed: Option<String>) -> Vec<FieldDoc> {
    match T::section_fields() {
        None => vec![FieldDoc {
            key: key.to_owned(),
            doc,
            allowed,
            section_doc: None,
        }],
        Some(inner) => inner
            .into_iter()
            .map(|f| FieldDoc {
                key: format!("{key}.{}", f.key),
                section_doc: Some(doc.clone()),
                ..f
            })
            .collect(),
    }
}

/// [`FieldValue::validate_section`] of field `key`, the error's key prefixed by `key.`.
pub fn validate_field<T: FieldValue>(key: &str, value: &T) -> Result<(), ConfigError> {
    value.validate_section().map_err(|e| ConfigError {
        key: format!("{key}.{}", e.key),
        message: e.message,
    })
}

/// A set of allowed values for one config key.
pub trait Allowed<T> {
    /// Whether `value` is allowed.
    fn allows(&self, value: &T) -> bool;
    /// The allowed set in words, with `key` standing for the value: `0 < lr ≤ 10`.
    fn describe(&self, key: &str) -> String;
}

/// One end of an [`Interval`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum End<T> {
    /// No bound on this side.
    Unbounded,
    /// The end value is allowed.
    Closed(T),
    /// The end value is excluded.
    Open(T),
}

/// An interval of numbers: `ge(1).le(100)` is `1 ≤ x ≤ 100`, `gt(0.0)` is `0 < x`. Floats
/// must also be finite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval<T> {
    lo: End<T>,
    hi: End<T>,
}

/// `lo ≤ x`.
pub fn ge<T>(lo: T) -> Interval<T> {
    Interval {
        lo: End::Closed(lo),
        hi: End::Unbounded,
    }
}

/// `lo < x`.
pub fn gt<T>(lo: T) -> Interval<T> {
    Interval {
        lo: End::Open(lo),
        hi: End::Unbounded,
    }
}

impl<T> Interval<T> {
    /// Adds the upper bound `x ≤ hi`.
    pub fn le(self, hi: T) -> Self {
        Interval {
            lo: self.lo,
            hi: End::Closed(hi),
        }
    }

    /// Adds the upper bound `x < hi`.
    #[allow(dead_code)] // frame API, for the method experiments' configs
    pub fn lt(self, hi: T) -> Self {
        Interval {
            lo: self.lo,
            hi: End::Open(hi),
        }
    }
}

/// The numbers an [`Interval`] can bound.
pub trait Number: PartialOrd + Display + Copy {
    /// Whether the value is a finite number (always, for integers).
    fn is_finite_number(&self) -> bool;
}

macro_rules! integer_numbers {
    ($($t:ty),*) => {$(
        impl Number for $t {
            fn is_finite_number(&self) -> bool {
                true
            }
        }
    )*};
}
integer_numbers!(u32, u64, usize, i32, i64);

impl Number for f64 {
    fn is_finite_number(&self) -> bool {
        self.is_finite()
    }
}

impl<T: Number> Allowed<T> for Interval<T> {
    fn allows(&self, value: &T) -> bool {
        let lo = match self.lo {
            End::Unbounded => true,
            End::Closed(lo) => *value >= lo,
            End::Open(lo) => *value > lo,
        };
        let hi = match self.hi {
            End::Unbounded => true,
            End::Closed(hi) => *value <= hi,
            End::Open(hi) => *value < hi,
        };
        lo && hi && value.is_finite_number()
    }

    fn describe(&self, key: &str) -> String {
        let lo = match self.lo {
            End::Unbounded => String::new(),
            End::Closed(lo) => format!("{lo} ≤ "),
            End::Open(lo) => format!("{lo} < "),
        };
        let hi = match self.hi {
            End::Unbounded => String::new(),
            End::Closed(hi) => format!(" ≤ {hi}"),
            End::Open(hi) => format!(" < {hi}"),
        };
        format!("{lo}{key}{hi}")
    }
}

/// The check behind `config!`'s generated `validate`.
pub fn check_allowed<T: Display>(
    key: &str,
    value: &T,
    allowed: &impl Allowed<T>,
) -> Result<(), ConfigError> {
    if allowed.allows(value) {
        Ok(())
    } else {
        Err(ConfigError {
            key: key.to_owned(),
            message: format!(
                "{value} is out of range; allowed: {}",
                allowed.describe(key)
            ),
        })
    }
}

/// Declares a configuration struct with, for every field, its doc comment (say where the
/// default comes from), an optional `#[allowed(...)]` range ([`ge`], [`gt`], then `.le`/`.lt`)
/// and its default:
///
/// ```ignore
/// config! {
///     /// Configuration of `my-experiment`.
///     pub struct MyConfig {
///         /// Passes over the training set (our choice: converged by then).
///         #[allowed(ge(1).le(10_000))]
///         pub epochs: usize = 100,
///     }
/// }
/// ```
///
/// It derives serde with `deny_unknown_fields` and `default` (a TOML file may set any subset of
/// the keys), `Default` from the declared defaults, [`Documented`], and [`FieldValue`] (so that
/// the struct can be a section of another config: a field `pub teacher: TeacherConfig = ...`).
#[macro_export]
macro_rules! config {
    (
        $(#[doc = $sdoc:literal])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $(#[allowed($allowed:expr)])?
                pub $field:ident : $ty:ty = $default:expr
            ),* $(,)?
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $(
                $(#[doc = $doc])+
                pub $field: $ty,
            )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $($field: $default,)* }
            }
        }

        impl $crate::experiment::config::Documented for $name {
            fn fields() -> Vec<$crate::experiment::config::FieldDoc> {
                let mut fields = Vec::new();
                $(
                    fields.extend($crate::experiment::config::field_docs::<$ty>(
                        stringify!($field),
                        [$($doc),+].map(str::trim).join("\n"),
                        $crate::config!(@describe $field $($allowed)?),
                    ));
                )*
                fields
            }

            fn validate(&self) -> Result<(), $crate::experiment::config::ConfigError> {
                $(
                    $(
                        $crate::experiment::config::check_allowed(
                            stringify!($field),
                            &self.$field,
                            &$allowed,
                        )?;
                    )?
                    $crate::experiment::config::validate_field(stringify!($field), &self.$field)?;
                )*
                Ok(())
            }
        }

        impl $crate::experiment::config::FieldValue for $name {
            fn section_fields() -> Option<Vec<$crate::experiment::config::FieldDoc>> {
                Some(<$name as $crate::experiment::config::Documented>::fields())
            }

            fn validate_section(&self) -> Result<(), $crate::experiment::config::ConfigError> {
                <$name as $crate::experiment::config::Documented>::validate(self)
            }
        }
    };
    (@describe $field:ident) => { None };
    (@describe $field:ident $allowed:expr) => {
        Some($crate::experiment::config::Allowed::describe(&$allowed, stringify!($field)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::config! {
        /// A config for the tests.
        pub struct TestConfig {
            /// A count.
            /// Second line.
            #[allowed(ge(1).le(10))]
            pub count: usize = 3,
            /// A rate.
            #[allowed(gt(0.0).lt(1.0))]
            pub rate: f64 = 0.5,
            /// A name, any string.
            pub name: String = "x".to_owned(),
        }
    }

    #[test]
    fn fields_are_documented_in_declaration_order_with_their_ranges() {
        let fields = TestConfig::fields();
        let keys: Vec<_> = fields.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["count", "rate", "name"]);
        assert_eq!(fields[0].doc, "A count.\nSecond line.");
        assert_eq!(fields[0].allowed.as_deref(), Some("1 ≤ count ≤ 10"));
        assert_eq!(fields[1].allowed.as_deref(), Some("0 < rate < 1"));
        assert_eq!(fields[2].allowed, None);
    }

    #[test]
    fn validate_names_the_key_the_value_and_the_range() {
        assert_eq!(TestConfig::default().validate(), Ok(()));
        let err = TestConfig {
            count: 11,
            ..TestConfig::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(err.key, "count");
        assert_eq!(
            err.to_string(),
            "config key `count`: 11 is out of range; allowed: 1 ≤ count ≤ 10"
        );
        for bad in [0.0, 1.0, f64::NAN, -0.5] {
            let c = TestConfig {
                rate: bad,
                ..TestConfig::default()
            };
            assert_eq!(c.validate().unwrap_err().key, "rate", "{bad}");
        }
        let c = TestConfig {
            count: 1,
            rate: 0.999,
            ..TestConfig::default()
        };
        assert_eq!(c.validate(), Ok(()));
    }

    crate::config! {
        /// A section for the tests.
        pub struct TestSection {
            /// Passes.
            #[allowed(ge(1).le(100))]
            pub epochs: usize = 20,
            /// A seed.
            pub seed: u64 = 0,
        }
    }

    crate::config! {
        /// A config with a section.
        pub struct WithSection {
            /// A rate.
            #[allowed(gt(0.0))]
            pub rate: f64 = 0.5,
            /// The teacher (our default: 5 epochs, fewer than the section's 20).
            pub teacher: TestSection = TestSection { epochs: 5, ..TestSection::default() },
        }
    }

    #[test]
    fn a_section_contributes_its_keys_dotted_with_its_own_docs_and_ranges() {
        let fields = WithSection::fields();
        let keys: Vec<_> = fields.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["rate", "teacher.epochs", "teacher.seed"]);
        assert_eq!(fields[1].doc, "Passes.");
        assert_eq!(fields[1].allowed.as_deref(), Some("1 ≤ epochs ≤ 100"));
        assert_eq!(
            fields[1].section_doc.as_deref(),
            Some("The teacher (our default: 5 epochs, fewer than the section's 20).")
        );
        assert_eq!(fields[0].section_doc, None);
        // the experiment's override of the section's default
        assert_eq!(WithSection::default().teacher.epochs, 5);
        assert_eq!(TestSection::default().epochs, 20);
    }

    #[test]
    fn a_section_key_out_of_range_is_named_with_its_section() {
        let mut c = WithSection::default();
        c.teacher.epochs = 0;
        let err = c.validate().unwrap_err();
        assert_eq!(err.key, "teacher.epochs");
        assert_eq!(
            err.to_string(),
            "config key `teacher.epochs`: 0 is out of range; allowed: 1 ≤ epochs ≤ 100"
        );
    }

    #[test]
    fn open_and_closed_ends_differ() {
        assert!(ge(1usize).allows(&1));
        assert!(!gt(1usize).allows(&1));
        assert!(ge(0.0).le(1.0).allows(&1.0));
        assert!(!ge(0.0).lt(1.0).allows(&1.0));
        assert!(!ge(0.0).allows(&f64::INFINITY));
    }
}
