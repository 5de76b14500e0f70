//! A scenario's `executor = { type = "...", ... }`: k6's executors with
//! their fields in the catalog's kebab-case (`pre-allocated-vus` for k6's
//! `preAllocatedVUs`). A value may be `"{params.NAME}"`, replaced by the
//! parameter's value when the run is planned, so `--param vus=10000`
//! reaches the executor. Overrides from `--executor key=value,...` are laid
//! over the catalog's table before it is read.

use std::time::Duration;

use crate::vu::config::{DEFAULT_GRACEFUL, DEFAULT_MAX_DURATION};
use crate::vu::{ExecutorConfig, ExecutorKind, TargetStage};

/// The executor table of one scenario as the catalog gives it.
#[derive(Debug, Clone)]
pub struct ExecutorDecl {
    pub table: toml::Table,
    /// `file:line:column` of the table, for messages.
    pub location: String,
}

const TYPES: &[&str] = &[
    "shared-iterations",
    "per-vu-iterations",
    "constant-vus",
    "ramping-vus",
    "constant-arrival-rate",
    "ramping-arrival-rate",
];

/// k6 spellings and the catalog's.
const K6_NAMES: &[(&str, &str)] = &[
    ("executor", "type"),
    ("preAllocatedVUs", "pre-allocated-vus"),
    ("maxVUs", "max-vus"),
    ("timeUnit", "time-unit"),
    ("gracefulStop", "graceful-stop"),
    ("gracefulRampDown", "graceful-ramp-down"),
    ("startVUs", "start-vus"),
    ("startRate", "start-rate"),
    ("maxDuration", "max-duration"),
];

/// Parses `--executor 'type=constant-vus,vus=10,duration=30s'` into a table
/// (stages are not settable this way: use the catalog).
pub fn parse_override(arg: &str) -> Result<toml::Table, String> {
    let mut table = toml::Table::new();
    for pair in arg.split(',').filter(|p| !p.trim().is_empty()) {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            format!("invalid --executor `{arg}`: `{pair}` is not `key=value` (e.g. `type=constant-vus,vus=10,duration=30s`)")
        })?;
        table.insert(
            key.trim().to_owned(),
            toml::Value::String(value.trim().to_owned()),
        );
    }
    if table.is_empty() {
        return Err(format!(
            "invalid --executor `{arg}`: expected `key=value,...` (e.g. `type=constant-vus,vus=10,duration=30s`)"
        ));
    }
    Ok(table)
}

/// The catalog's table with `overrides` laid over it: a new `type` starts
/// from an empty table, since the other executor's fields do not apply.
pub fn overlay(base: &toml::Table, overrides: &toml::Table) -> toml::Table {
    let type_changes = overrides
        .get("type")
        .is_some_and(|t| Some(t) != base.get("type"));
    let mut table = if type_changes {
        toml::Table::new()
    } else {
        base.clone()
    };
    for (k, v) in overrides {
        table.insert(k.clone(), v.clone());
    }
    table
}

/// Reads the executor, with `{params.NAME}` values replaced from `params`,
/// and checks it as k6 does. Errors name the field and `location`.
pub fn resolve(
    decl: &ExecutorDecl,
    scenario: &str,
    params: &[(String, String)],
) -> Result<ExecutorConfig, String> {
    let fail = |message: String| {
        format!(
            "{}: scenario `{scenario}`: executor: {message}",
            decl.location
        )
    };
    let reader = Reader {
        table: &decl.table,
        params,
    };
    reader.check_keys().map_err(fail)?;
    let config = reader.config().map_err(fail)?;
    config.validate().map_err(|e| fail(e.to_string()))?;
    Ok(config)
}

struct Reader<'a> {
    table: &'a toml::Table,
    params: &'a [(String, String)],
}

impl Reader<'_> {
    fn allowed(kind: &str) -> &'static [&'static str] {
        match kind {
            "shared-iterations" | "per-vu-iterations" => &["vus", "iterations", "max-duration"],
            "constant-vus" => &["vus", "duration"],
            "ramping-vus" => &["start-vus", "stages", "graceful-ramp-down"],
            "constant-arrival-rate" => &[
                "rate",
                "time-unit",
                "duration",
                "pre-allocated-vus",
                "max-vus",
            ],
            "ramping-arrival-rate" => &[
                "start-rate",
                "time-unit",
                "stages",
                "pre-allocated-vus",
                "max-vus",
            ],
            _ => &[],
        }
    }

    fn check_keys(&self) -> Result<(), String> {
        let kind = self.kind()?;
        let allowed = Self::allowed(&kind);
        for key in self.table.keys() {
            if key == "type" || key == "graceful-stop" || allowed.contains(&key.as_str()) {
                continue;
            }
            if let Some((_, ours)) = K6_NAMES.iter().find(|(k6, _)| k6 == key) {
                return Err(format!(
                    "unknown field `{key}`; the catalog spells it `{ours}`"
                ));
            }
            return Err(format!(
                "unknown field `{key}` for `{kind}` (its fields: {}, graceful-stop)",
                allowed.join(", ")
            ));
        }
        Ok(())
    }

    fn kind(&self) -> Result<String, String> {
        let Some(value) = self.table.get("type") else {
            return Err(format!("`type` is missing (one of: {})", TYPES.join(", ")));
        };
        let kind = self.text("type", value)?;
        if !TYPES.contains(&kind.as_str()) {
            return Err(format!(
                "unknown type `{kind}` (one of: {})",
                TYPES.join(", ")
            ));
        }
        Ok(kind)
    }

    /// A value as text: strings (with `{params.NAME}` replaced) and numbers.
    fn text(&self, field: &str, value: &toml::Value) -> Result<String, String> {
        let raw = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(n) => return Ok(n.to_string()),
            toml::Value::Float(f) => return Ok(f.to_string()),
            other => {
                return Err(format!(
                    "`{field}` must be a number or a string, not a {}",
                    other.type_str()
                ));
            }
        };
        let trimmed = raw.trim();
        if let Some(name) = trimmed
            .strip_prefix("{params.")
            .and_then(|rest| rest.strip_suffix('}'))
        {
            return self
                .params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| {
                    format!("`{field}` refers to `{{params.{name}}}`, but the scenario declares no parameter `{name}`")
                });
        }
        Ok(raw)
    }

    fn get_text(&self, field: &str) -> Result<Option<String>, String> {
        self.table
            .get(field)
            .map(|v| self.text(field, v))
            .transpose()
    }

    fn count(&self, field: &'static str, default: Option<u64>) -> Result<u64, String> {
        match self.get_text(field)? {
            Some(text) => text
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("`{field}` must be a whole number ≥ 0, got `{text}`")),
            None => default.ok_or_else(|| format!("`{field}` is missing")),
        }
    }

    fn vus(&self, field: &'static str, default: Option<u32>) -> Result<u32, String> {
        let n = self.count(field, default.map(u64::from))?;
        u32::try_from(n).map_err(|_| format!("`{field}` is {n}, too many VUs"))
    }

    fn duration(&self, field: &'static str, default: Option<Duration>) -> Result<Duration, String> {
        match self.get_text(field)? {
            Some(text) => humantime::parse_duration(text.trim()).map_err(|e| {
                format!("`{field}`: invalid duration `{text}`: {e} (examples: `30s`, `5m`)")
            }),
            None => default.ok_or_else(|| format!("`{field}` is missing")),
        }
    }

    fn stages(&self) -> Result<Vec<TargetStage>, String> {
        let Some(value) = self.table.get("stages") else {
            return Err("`stages` is missing".to_owned());
        };
        let toml::Value::Array(items) = value else {
            return Err(
                "`stages` must be a list of `{ duration = \"30s\", target = 10 }`".to_owned(),
            );
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let toml::Value::Table(stage) = item else {
                    return Err(format!(
                        "`stages[{i}]` must be a table `{{ duration = \"30s\", target = 10 }}`"
                    ));
                };
                let inner = Reader {
                    table: stage,
                    params: self.params,
                };
                for key in stage.keys() {
                    if key != "duration" && key != "target" {
                        return Err(format!(
                            "`stages[{i}]`: unknown field `{key}` (a stage has `duration` and `target`)"
                        ));
                    }
                }
                Ok(TargetStage {
                    duration: inner
                        .duration("duration", None)
                        .map_err(|e| format!("`stages[{i}]`: {e}"))?,
                    target: inner
                        .count("target", None)
                        .map_err(|e| format!("`stages[{i}]`: {e}"))?,
                })
            })
            .collect()
    }

    fn config(&self) -> Result<ExecutorConfig, String> {
        let one_second = Some(Duration::from_secs(1));
        let kind = match self.kind()?.as_str() {
            "shared-iterations" => ExecutorKind::SharedIterations {
                vus: self.vus("vus", Some(1))?,
                iterations: self.count("iterations", Some(1))?,
                max_duration: self.duration("max-duration", Some(DEFAULT_MAX_DURATION))?,
            },
            "per-vu-iterations" => ExecutorKind::PerVuIterations {
                vus: self.vus("vus", Some(1))?,
                iterations: self.count("iterations", Some(1))?,
                max_duration: self.duration("max-duration", Some(DEFAULT_MAX_DURATION))?,
            },
            "constant-vus" => ExecutorKind::ConstantVus {
                vus: self.vus("vus", Some(1))?,
                duration: self.duration("duration", None)?,
            },
            "ramping-vus" => ExecutorKind::RampingVus {
                start_vus: self.vus("start-vus", Some(1))?,
                stages: self.stages()?,
                graceful_ramp_down: self.duration("graceful-ramp-down", Some(DEFAULT_GRACEFUL))?,
            },
            "constant-arrival-rate" => {
                let pre = self.vus("pre-allocated-vus", None)?;
                ExecutorKind::ConstantArrivalRate {
                    rate: self.count("rate", None)?,
                    time_unit: self.duration("time-unit", one_second)?,
                    duration: self.duration("duration", None)?,
                    pre_allocated_vus: pre,
                    max_vus: self.vus("max-vus", Some(pre))?,
                }
            }
            _ => {
                let pre = self.vus("pre-allocated-vus", None)?;
                ExecutorKind::RampingArrivalRate {
                    start_rate: self.count("start-rate", Some(0))?,
                    time_unit: self.duration("time-unit", one_second)?,
                    stages: self.stages()?,
                    pre_allocated_vus: pre,
                    max_vus: self.vus("max-vus", Some(pre))?,
                }
            }
        };
        Ok(ExecutorConfig {
            kind,
            graceful_stop: self.duration("graceful-stop", Some(DEFAULT_GRACEFUL))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(text: &str) -> ExecutorDecl {
        ExecutorDecl {
            table: text.parse::<toml::Table>().unwrap(),
            location: "catalog.toml:3:1".into(),
        }
    }

    fn params() -> Vec<(String, String)> {
        vec![
            ("vus".into(), "25".into()),
            ("duration".into(), "2s".into()),
        ]
    }

    #[test]
    fn every_type_reads_with_k6_defaults() {
        let c = resolve(
            &decl("type = \"constant-vus\"\nvus = 3\nduration = \"5s\""),
            "s",
            &[],
        )
        .unwrap();
        assert_eq!(
            c.kind,
            ExecutorKind::ConstantVus {
                vus: 3,
                duration: Duration::from_secs(5)
            }
        );
        assert_eq!(c.graceful_stop, DEFAULT_GRACEFUL);
        let c = resolve(
            &decl("type = \"constant-arrival-rate\"\nrate = 100\nduration = \"10s\"\npre-allocated-vus = 5"),
            "s",
            &[],
        )
        .unwrap();
        assert_eq!(
            c.kind,
            ExecutorKind::ConstantArrivalRate {
                rate: 100,
                time_unit: Duration::from_secs(1),
                duration: Duration::from_secs(10),
                pre_allocated_vus: 5,
                max_vus: 5,
            }
        );
        let c = resolve(
            &decl("type = \"ramping-vus\"\nstages = [{ duration = \"1s\", target = 4 }, { duration = \"1s\", target = 0 }]"),
            "s",
            &[],
        )
        .unwrap();
        assert_eq!(c.max_vus(), 4);
    }

    #[test]
    fn params_fill_values_and_unknown_params_are_named() {
        let c = resolve(
            &decl(
                "type = \"constant-vus\"\nvus = \"{params.vus}\"\nduration = \"{params.duration}\"",
            ),
            "s",
            &params(),
        )
        .unwrap();
        assert_eq!(c.max_vus(), 25);
        assert_eq!(c.planned_duration(), Duration::from_secs(2));
        let err = resolve(
            &decl("type = \"constant-vus\"\nvus = \"{params.users}\"\nduration = \"1s\""),
            "s",
            &params(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "catalog.toml:3:1: scenario `s`: executor: `vus` refers to `{params.users}`, but the scenario declares no parameter `users`"
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let cases = [
            ("vus = 3", "`type` is missing"),
            ("type = \"looping\"", "unknown type `looping`"),
            (
                "type = \"constant-vus\"\nduration = \"1s\"\npreAllocatedVUs = 3",
                "unknown field `preAllocatedVUs`; the catalog spells it `pre-allocated-vus`",
            ),
            (
                "type = \"constant-vus\"\nduration = \"1s\"\nrate = 3",
                "unknown field `rate` for `constant-vus`",
            ),
            (
                "type = \"constant-vus\"\nvus = -1\nduration = \"1s\"",
                "`vus` must be a whole number",
            ),
            (
                "type = \"constant-vus\"\nvus = 1\nduration = \"soon\"",
                "`duration`: invalid duration `soon`",
            ),
            (
                "type = \"constant-vus\"\nvus = 0\nduration = \"1s\"",
                "`vus` must be at least 1",
            ),
            (
                "type = \"constant-vus\"\nvus = 1000000\nduration = \"1s\"",
                "more than the 100000 VUs",
            ),
            (
                "type = \"ramping-vus\"\nstages = [{ duration = \"1s\", users = 3 }]",
                "`stages[0]`: unknown field `users`",
            ),
            (
                "type = \"constant-arrival-rate\"\nrate = 1\nduration = \"1s\"\npre-allocated-vus = 5\nmax-vus = 2",
                "`max-vus` (2) is below `pre-allocated-vus` (5)",
            ),
        ];
        for (text, wanted) in cases {
            let err = resolve(&decl(text), "s", &[]).unwrap_err();
            assert!(
                err.starts_with("catalog.toml:3:1: scenario `s`: executor: "),
                "{err}"
            );
            assert!(err.contains(wanted), "{text}: {err}");
        }
    }

    #[test]
    fn overrides_replace_fields_and_a_new_type_starts_afresh() {
        let base = decl("type = \"constant-vus\"\nvus = 3\nduration = \"5s\"").table;
        let o = parse_override("vus=7").unwrap();
        let c = resolve(
            &ExecutorDecl {
                table: overlay(&base, &o),
                location: "x".into(),
            },
            "s",
            &[],
        )
        .unwrap();
        assert_eq!(c.max_vus(), 7);
        let o = parse_override("type=shared-iterations,vus=2,iterations=10").unwrap();
        let table = overlay(&base, &o);
        assert!(!table.contains_key("duration"));
        assert!(
            parse_override("vus")
                .unwrap_err()
                .contains("is not `key=value`")
        );
    }
}
