//! Typed scenario parameters: declared in the catalog with a default whose
//! type is the parameter's type, overridden with `--param name=value`.

use std::fmt;

/// The type of a parameter, taken from its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Int,
    Float,
    String,
    Bool,
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParamType::Int => "int",
            ParamType::Float => "float",
            ParamType::String => "string",
            ParamType::Bool => "bool",
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
    /// The type and text form of a TOML default, or `None` for tables/arrays/dates.
    pub fn of_toml(value: &toml::Value) -> Option<(ParamType, String)> {
        match value {
            toml::Value::Integer(i) => Some((ParamType::Int, i.to_string())),
            toml::Value::Float(f) => Some((ParamType::Float, f.to_string())),
            toml::Value::String(s) => Some((ParamType::String, s.clone())),
            toml::Value::Boolean(b) => Some((ParamType::Bool, b.to_string())),
            _ => None,
        }
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
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("64MB").unwrap(), 64_000_000);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert!(parse_size("12 parsecs").is_err());
    }
}
