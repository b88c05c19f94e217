//! Typed experiment configurations: the [`config!`](crate::config) macro declares a config
//! struct, its defaults, the documentation of every key and each key's allowed range in one
//! place, so that `--print-config`, validation and the TOML files can never disagree.

use std::fmt::{self, Display};

/// One key of a configuration, for `--print-config` and for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDoc {
    /// The TOML key (the Rust field name).
    pub key: &'static str,
    /// The field's doc comment: what it is and where its default comes from.
    pub doc: String,
    /// The allowed values, e.g. `1 ≤ epochs ≤ 100000`, when the field declares a range.
    pub allowed: Option<String>,
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
    /// Every key in declaration order, with its documentation and allowed range.
    fn fields() -> Vec<FieldDoc>;
    /// Checks every key that declares an allowed range; the error names the key, its value and
    /// the range.
    fn validate(&self) -> Result<(), ConfigError>;
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
/// the keys), `Default` from the declared defaults, and [`Documented`].
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
                vec![$(
                    $crate::experiment::config::FieldDoc {
                        key: stringify!($field),
                        doc: [$($doc),+].map(str::trim).join("\n"),
                        allowed: $crate::config!(@describe $field $($allowed)?),
                    },
                )*]
            }

            fn validate(&self) -> Result<(), $crate::experiment::config::ConfigError> {
                $($(
                    $crate::experiment::config::check_allowed(
                        stringify!($field),
                        &self.$field,
                        &$allowed,
                    )?;
                )?)*
                Ok(())
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
        let keys: Vec<_> = fields.iter().map(|f| f.key).collect();
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

    #[test]
    fn open_and_closed_ends_differ() {
        assert!(ge(1usize).allows(&1));
        assert!(!gt(1usize).allows(&1));
        assert!(ge(0.0).le(1.0).allows(&1.0));
        assert!(!ge(0.0).lt(1.0).allows(&1.0));
        assert!(!ge(0.0).allows(&f64::INFINITY));
    }
}
