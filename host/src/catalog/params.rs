//! Typed scenario parameters: declared in the catalog with a default and an
//! optional `type` (otherwise the default's TOML type), overridden with
//! `--param name=value`. Values reach the guest as text, already checked.

use std::fmt;

/// The type of a parameter: declared with `type = "..."`, or taken from its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Int,
    Float,
    String,
    Bool,
    /// A duration such as `5s`, `250ms`, `1m 30s`.
    Duration,
    /// A size such as `100B`, `10KiB`, `1MB`.
    Size,
    /// A comma-separated list (`a,b,c`); a TOML array as a default.
    List,
}

/// Every type name accepted in `type = "..."`.
pub const TYPE_NAMES: &[&str] = &["int", "float", "string", "bool", "duration", "size", "list"];

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParamType::Int => "int",
            ParamType::Float => "float",
            ParamType::String => "string",
            ParamType::Bool => "bool",
            ParamType::Duration => "duration",
            ParamType::Size => "size",
            ParamType::List => "list",
        })
    }
}

/// A declared parameter with its default, as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub ty: ParamType,
    pub default: String,
    pub help: String,
}

impl ParamType {
    /// The type named `name` in `type = "..."`.
    pub fn from_name(name: &str) -> Option<ParamType> {
        Some(match name {
            "int" => ParamType::Int,
            "float" => ParamType::Float,
            "string" => ParamType::String,
            "bool" => ParamType::Bool,
            "duration" => ParamType::Duration,
            "size" => ParamType::Size,
            "list" => ParamType::List,
            _ => return None,
        })
    }

    /// The type and text form of a TOML default, or `None` for tables/dates
    /// and arrays of non-scalars.
    pub fn of_toml(value: &toml::Value) -> Option<(ParamType, String)> {
        match value {
            toml::Value::Integer(i) => Some((ParamType::Int, i.to_string())),
            toml::Value::Float(f) => Some((ParamType::Float, f.to_string())),
            toml::Value::String(s) => Some((ParamType::String, s.clone())),
            toml::Value::Boolean(b) => Some((ParamType::Bool, b.to_string())),
            toml::Value::Array(items) => {
                let texts = items
                    .iter()
                    .map(|item| match item {
                        toml::Value::Integer(i) => Some(i.to_string()),
                        toml::Value::Float(f) => Some(f.to_string()),
                        toml::Value::String(s) => Some(s.clone()),
                        toml::Value::Boolean(b) => Some(b.to_string()),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?;
                Some((ParamType::List, texts.join(",")))
            }
            _ => None,
        }
    }

    /// The default of a declared parameter: with a declared type the default
    /// must check against it; without one the default's TOML type decides.
    pub fn of_decl(
        declared: Option<&str>,
        default: &toml::Value,
    ) -> Result<(ParamType, String), String> {
        let (inferred, text) = ParamType::of_toml(default).ok_or_else(|| {
            "the default must be an integer, float, string, boolean or an array of those".to_owned()
        })?;
        let Some(name) = declared else {
            return Ok((inferred, text));
        };
        let ty = ParamType::from_name(name)
            .ok_or_else(|| format!("unknown type `{name}` (types: {})", TYPE_NAMES.join(", ")))?;
        // A number default for a float, or a string default for a duration,
        // size or list, is the natural way to write them.
        let compatible = ty == inferred
            || matches!(
                (ty, inferred),
                (ParamType::Float, ParamType::Int)
                    | (ParamType::Duration, ParamType::String)
                    | (ParamType::Size, ParamType::String | ParamType::Int)
                    | (ParamType::List, ParamType::String)
                    | (ParamType::String, ParamType::Int | ParamType::Float)
            );
        if !compatible {
            return Err(format!(
                "the default `{text}` is of type {inferred}, but the parameter is declared `{ty}`"
            ));
        }
        let text = ty
            .check(&text)
            .map_err(|e| format!("the default does not fit type `{ty}`: {e}"))?;
        Ok((ty, text))
    }

    /// Checks `text` against the type; returns the normalised text.
    pub fn check(self, text: &str) -> Result<String, String> {
        let text = text.trim();
        match self {
            ParamType::Int => text
                .replace('_', "")
                .parse::<i64>()
                .map(|v| v.to_string())
                .map_err(|_| format!("expected an integer, got `{text}`")),
            ParamType::Float => text
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(|v| v.to_string())
                .ok_or_else(|| format!("expected a number, got `{text}`")),
            ParamType::Bool => match text {
                "true" | "yes" | "1" => Ok("true".into()),
                "false" | "no" | "0" => Ok("false".into()),
                _ => Err(format!("expected true or false, got `{text}`")),
            },
            ParamType::String => Ok(text.to_owned()),
            // Kept as written (`5s`): every guest language parses it the same
            // way once it is known to be valid.
            ParamType::Duration => humantime::parse_duration(text)
                .map(|_| text.to_owned())
                .map_err(|e| {
                    format!("expected a duration like `5s` or `250ms`, got `{text}`: {e}")
                }),
            ParamType::Size => parse_size(text).map(|_| text.to_owned()),
            ParamType::List => Ok(text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .collect::<Vec<_>>()
                .join(",")),
        }
    }
}

/// A `--param` argument: `name=value`, or `scenario:name=value` for one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamOverride {
    pub scenario: Option<String>,
    pub name: String,
    pub value: String,
}

impl ParamOverride {
    pub fn parse(arg: &str) -> Result<Self, String> {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(format!(
                "invalid --param `{arg}`: expected `name=value` or `scenario:name=value`"
            ));
        };
        let (scenario, name) = match key.split_once(':') {
            Some((s, n)) => (Some(s.trim().to_owned()), n.trim().to_owned()),
            None => (None, key.trim().to_owned()),
        };
        if name.is_empty() || scenario.as_deref() == Some("") {
            return Err(format!(
                "invalid --param `{arg}`: the parameter name is empty (expected `name=value`)"
            ));
        }
        Ok(Self {
            scenario,
            name,
            value: value.to_owned(),
        })
    }
}

/// Parses a size such as `256MiB`, `64MB`, `1048576` (bytes).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| {
        format!("invalid size `{text}`: expected a number and a unit, like `256MiB`")
    })?;
    let factor: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "invalid size `{text}`: unknown unit `{other}` (use B, KB, MB, GB, KiB, MiB or GiB)"
            ));
        }
    };
    Ok((number * factor) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_parse_with_and_without_scenario() {
        assert_eq!(
            ParamOverride::parse("ops=10").unwrap(),
            ParamOverride {
                scenario: None,
                name: "ops".into(),
                value: "10".into()
            }
        );
        let o = ParamOverride::parse("redis-latency:ops=10").unwrap();
        assert_eq!(o.scenario.as_deref(), Some("redis-latency"));
        assert!(ParamOverride::parse("ops").is_err());
        assert!(ParamOverride::parse("=3").is_err());
    }

    #[test]
    fn values_are_type_checked() {
        assert_eq!(ParamType::Int.check("1_000").unwrap(), "1000");
        assert!(ParamType::Int.check("ten").is_err());
        assert!(ParamType::Float.check("NaN").is_err());
        assert_eq!(ParamType::Bool.check("yes").unwrap(), "true");
        assert_eq!(ParamType::Duration.check(" 250ms ").unwrap(), "250ms");
        assert!(ParamType::Duration.check("soon").is_err());
        assert_eq!(ParamType::Size.check("10KiB").unwrap(), "10KiB");
        assert!(ParamType::Size.check("10 parsecs").is_err());
        assert_eq!(ParamType::List.check("a, b,,c").unwrap(), "a,b,c");
    }

    #[test]
    fn declared_types_check_their_defaults() {
        let v = |t: &str| toml::from_str::<toml::Table>(&format!("v = {t}")).unwrap()["v"].clone();
        assert_eq!(
            ParamType::of_decl(None, &v("[\"100B\", \"1KB\"]")).unwrap(),
            (ParamType::List, "100B,1KB".into())
        );
        assert_eq!(
            ParamType::of_decl(Some("duration"), &v("\"5s\"")).unwrap(),
            (ParamType::Duration, "5s".into())
        );
        assert_eq!(
            ParamType::of_decl(Some("float"), &v("3")).unwrap(),
            (ParamType::Float, "3".into())
        );
        let wrong = ParamType::of_decl(Some("int"), &v("\"many\"")).unwrap_err();
        assert!(wrong.contains("declared `int`"), "{wrong}");
        let bad = ParamType::of_decl(Some("duration"), &v("\"soon\"")).unwrap_err();
        assert!(bad.contains("duration"), "{bad}");
        let unknown = ParamType::of_decl(Some("colour"), &v("1")).unwrap_err();
        assert!(unknown.contains("unknown type `colour`"), "{unknown}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("64MB").unwrap(), 64_000_000);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert!(parse_size("12 parsecs").is_err());
    }
}
