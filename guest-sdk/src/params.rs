//! Typed access to the run's parameters. The host has already type-checked
//! declared parameters and filled in defaults.

use std::str::FromStr;

use crate::Error;

/// The parameters of this run.
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: Vec<(String, String)>,
}

impl Params {
    /// Parameters from `name = value` pairs.
    pub fn new(values: Vec<(String, String)>) -> Self {
        Self { values }
    }

    /// The raw text of `name`, if given.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `name` parsed as `T`; an error if it is missing or does not parse.
    pub fn get<T: FromStr>(&self, name: &str) -> Result<T, Error>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self.raw(name).ok_or_else(|| Error::Param {
            name: name.to_owned(),
            message: "missing (declare it in the catalog with a default)".into(),
        })?;
        raw.trim().parse().map_err(|e: T::Err| Error::Param {
            name: name.to_owned(),
            message: format!("cannot parse `{raw}`: {e}"),
        })
    }

    /// `name` parsed as `T`, or `default` when it is not given.
    pub fn get_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, Error>
    where
        T::Err: std::fmt::Display,
    {
        match self.raw(name) {
            None => Ok(default),
            Some(_) => self.get(name),
        }
    }

    /// Adds (or, read back, overrides) `name`: how a VU scenario's `setup`
    /// hands what it learned (a base URL, an id) to every iteration.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.push((name.into(), value.into()));
    }

    /// All parameters, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_access() {
        let p = Params::new(vec![
            ("ops".into(), "10".into()),
            ("name".into(), "x".into()),
        ]);
        assert_eq!(p.get::<u64>("ops").unwrap(), 10);
        assert_eq!(p.get_or::<u64>("missing", 7).unwrap(), 7);
        assert!(p.get::<u64>("name").is_err());
        assert!(p.get::<u64>("missing").is_err());
    }
}
