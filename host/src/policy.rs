//! What a scenario may touch. Everything is denied unless the catalog grants
//! it; a denial names the catalog line that would grant the access.

use std::collections::BTreeSet;

/// The capabilities granted to one scenario.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// Redis target names the scenario may open.
    pub redis: BTreeSet<String>,
}

impl Grants {
    /// Every grant as `kind:value` (`redis:default`), for `rigor list`.
    /// A new kind of grant adds its items here.
    pub fn describe(&self) -> Vec<String> {
        let mut items: Vec<String> = self.redis.iter().map(|t| format!("redis:{t}")).collect();
        items.sort();
        items
    }
}

/// A denied access, with the grant that would allow it.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error(
    "{what} is not granted to scenario `{scenario}`: add `{grant_line}` to its `grants` in the catalog"
)]
pub struct Denied {
    pub scenario: String,
    pub what: String,
    pub grant_line: String,
}

/// The policy one scenario runs under.
#[derive(Debug, Clone)]
pub struct Policy {
    scenario: String,
    grants: Grants,
}

impl Policy {
    pub fn new(scenario: impl Into<String>, grants: Grants) -> Self {
        Self {
            scenario: scenario.into(),
            grants,
        }
    }

    /// A policy that grants nothing.
    pub fn deny_all(scenario: impl Into<String>) -> Self {
        Self::new(scenario, Grants::default())
    }

    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    pub fn check_redis(&self, target: &str) -> Result<(), Denied> {
        if self.grants.redis.contains(target) {
            return Ok(());
        }
        Err(Denied {
            scenario: self.scenario.clone(),
            what: format!("redis target `{target}`"),
            grant_line: format!("redis = [\"{target}\"]"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ungranted_target_is_denied_with_the_grant_line() {
        let policy = Policy::new(
            "cache-check",
            Grants {
                redis: ["default".to_owned()].into(),
            },
        );
        assert!(policy.check_redis("default").is_ok());
        let denied = policy.check_redis("sessions").unwrap_err();
        let text = denied.to_string();
        assert!(text.contains("redis target `sessions`"), "{text}");
        assert!(text.contains("redis = [\"sessions\"]"), "{text}");
        assert!(text.contains("cache-check"), "{text}");
    }

    #[test]
    fn deny_all_denies_everything() {
        assert!(Policy::deny_all("x").check_redis("default").is_err());
    }
}
