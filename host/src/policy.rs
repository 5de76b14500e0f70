//! What a scenario may touch. Everything is denied unless the catalog grants
//! it; a denial names the catalog line that would grant the access.

use std::collections::{BTreeMap, BTreeSet};

/// The capabilities granted to one scenario.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// Redis targets the scenario may open, each with its command policy.
    pub redis: crate::probes::redis::policy::RedisGrants,
    /// Programs the scenario may run, keyed by the name as the catalog
    /// spells it (the name a guest passes to `process.spawn`).
    pub exec: BTreeMap<String, ExecGrant>,
    /// Whether children may start from the host's environment.
    pub inherit_env: bool,
    /// Environment variables a child may be given besides the safe set,
    /// each named exactly (`LD_PRELOAD` only if `LD_PRELOAD` is listed).
    pub env: BTreeSet<String>,
    /// HTTP hosts (`127.0.0.1`: every port) and `host:port` pairs.
    pub http: BTreeSet<String>,
    /// Directories the fs probe may open, by name.
    pub dirs: Vec<crate::probes::fs::DirGrant>,
    /// Pids the memory probe may sample.
    pub pids: BTreeSet<u32>,
    /// Client certificates (mTLS) the http probe may present, by name;
    /// loaded by the host when the plan is made, never shown to the guest.
    pub client_certs: BTreeMap<String, std::sync::Arc<crate::tls::ClientIdentity>>,
}

/// Where a granted program is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecGrant {
    /// A bare name, looked up on the host's `PATH` when spawned.
    OnPath(String),
    /// A path, made absolute against the catalog's folder.
    Path(std::path::PathBuf),
    /// A path inside the scenario's work directory (`{work}/venv/bin/python`).
    InWorkDir(std::path::PathBuf),
}

impl Grants {
    /// Every grant as `kind:value` (`redis:default`), for `rigor list`.
    /// A new kind of grant adds its items here.
    pub fn describe(&self) -> Vec<String> {
        let mut items: Vec<String> = self
            .redis
            .iter()
            .map(|(t, g)| match g.is_data_only() {
                true => format!("redis:{t}"),
                false => format!("redis:{t}({})", g.describe()),
            })
            .collect();
        items.extend(self.exec.keys().map(|p| format!("exec:{p}")));
        items.extend(self.http.iter().map(|h| format!("http:{h}")));
        items.extend(
            self.dirs
                .iter()
                .map(|d| format!("dir:{}:{}", d.name, d.mode.as_str())),
        );
        items.extend(self.pids.iter().map(|p| format!("pid:{p}")));
        items.extend(self.env.iter().map(|v| format!("env:{v}")));
        items.extend(self.client_certs.keys().map(|n| format!("client-cert:{n}")));
        if self.inherit_env {
            items.push("inherit-env".to_owned());
        }
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

    /// The scenario this policy belongs to.
    pub fn scenario(&self) -> &str {
        &self.scenario
    }

    /// The grant for `program`, spelled as in the catalog.
    pub fn check_exec(&self, program: &str) -> Result<&ExecGrant, Denied> {
        self.grants.exec.get(program).ok_or_else(|| Denied {
            scenario: self.scenario.clone(),
            what: format!("program `{program}`"),
            grant_line: format!("exec = [\"{program}\"]"),
        })
    }

    /// Whether children may inherit the host's environment.
    pub fn check_inherit_env(&self) -> Result<(), Denied> {
        if self.grants.inherit_env {
            return Ok(());
        }
        Err(Denied {
            scenario: self.scenario.clone(),
            what: "inheriting the host's environment".to_owned(),
            grant_line: "inherit-env = true".to_owned(),
        })
    }

    /// Whether a child may be given the environment variable `name`, which
    /// is not in the safe set or was refused for `why` (what the variable
    /// could do). Only an exact `env` grant allows it.
    pub fn check_env(&self, name: &str, why: &str) -> Result<(), Denied> {
        if self.grants.env.contains(name) {
            return Ok(());
        }
        Err(Denied {
            scenario: self.scenario.clone(),
            what: format!("environment variable `{name}` ({why})"),
            grant_line: format!("env = [\"{name}\"]"),
        })
    }

    /// Whether the environment variable `name` is granted by name.
    pub fn env_granted(&self, name: &str) -> bool {
        self.grants.env.contains(name)
    }

    /// Whether `host:port` may be reached over HTTP.
    pub fn check_http(&self, host: &str, port: u16) -> Result<(), Denied> {
        let host = host.to_ascii_lowercase();
        let pair = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        if self.grants.http.contains(&host) || self.grants.http.contains(&pair) {
            return Ok(());
        }
        Err(Denied {
            scenario: self.scenario.clone(),
            what: format!("HTTP host `{pair}`"),
            grant_line: format!("http = [\"{pair}\"]"),
        })
    }

    /// The client identity granted as `name`.
    pub fn check_client_cert(
        &self,
        name: &str,
    ) -> Result<&std::sync::Arc<crate::tls::ClientIdentity>, Denied> {
        self.grants.client_certs.get(name).ok_or_else(|| Denied {
            scenario: self.scenario.clone(),
            what: format!("client certificate `{name}`"),
            grant_line: format!(
                "client-certs = {{ {name} = {{ cert = \"CERT.pem\", key = \"KEY.pem\" }} }}"
            ),
        })
    }

    /// The granted directory `name`.
    pub fn check_dir(&self, name: &str) -> Result<&crate::probes::fs::DirGrant, Denied> {
        self.grants
            .dirs
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| Denied {
                scenario: self.scenario.clone(),
                what: format!("directory `{name}`"),
                grant_line: format!(
                    "dirs = [{{ name = \"{name}\", path = \"PATH\", mode = \"ro\" }}]"
                ),
            })
    }

    /// Whether the memory probe may sample `pid`.
    pub fn check_pid(&self, pid: u32) -> Result<(), Denied> {
        if self.grants.pids.contains(&pid) {
            return Ok(());
        }
        Err(Denied {
            scenario: self.scenario.clone(),
            what: format!("process {pid}"),
            grant_line: format!("pids = [{pid}]"),
        })
    }

    /// The grant on redis target `target`, with its command policy.
    pub fn check_redis(
        &self,
        target: &str,
    ) -> Result<&crate::probes::redis::policy::RedisGrant, Denied> {
        if let Some(grant) = self.grants.redis.get(target) {
            return Ok(grant);
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
                ..Default::default()
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
    fn exec_http_and_env_grants() {
        let mut grants = Grants::default();
        grants
            .exec
            .insert("python3".into(), ExecGrant::OnPath("python3".into()));
        grants.http.insert("127.0.0.1".into());
        grants.http.insert("localhost:8080".into());
        let policy = Policy::new("svc", grants);
        assert!(policy.check_exec("python3").is_ok());
        let denied = policy.check_exec("/bin/sh").unwrap_err().to_string();
        assert!(denied.contains(r#"exec = ["/bin/sh"]"#), "{denied}");
        assert!(policy.check_http("127.0.0.1", 1234).is_ok());
        assert!(policy.check_http("LOCALHOST", 8080).is_ok());
        let denied = policy
            .check_http("localhost", 8081)
            .unwrap_err()
            .to_string();
        assert!(denied.contains(r#"http = ["localhost:8081"]"#), "{denied}");
        assert!(policy.check_inherit_env().is_err());
        let denied = policy
            .check_env("LD_PRELOAD", "it loads code")
            .unwrap_err()
            .to_string();
        assert!(
            denied.contains("environment variable `LD_PRELOAD` (it loads code)"),
            "{denied}"
        );
        assert!(denied.contains(r#"add `env = ["LD_PRELOAD"]`"#), "{denied}");
    }

    #[test]
    fn dirs_and_pids_are_denied_unless_granted_with_the_line_to_add() {
        let policy = Policy::new(
            "fs-check",
            Grants {
                dirs: vec![crate::probes::fs::DirGrant {
                    name: "data".into(),
                    path: "/tmp".into(),
                    mode: crate::probes::fs::DirMode::ReadOnly,
                }],
                pids: [7].into(),
                ..Default::default()
            },
        );
        assert_eq!(
            policy.check_dir("data").unwrap().path,
            std::path::Path::new("/tmp")
        );
        let denied = policy.check_dir("out").unwrap_err().to_string();
        assert!(denied.contains(r#"dirs = [{ name = "out""#), "{denied}");
        assert!(policy.check_pid(7).is_ok());
        let denied = policy.check_pid(8).unwrap_err().to_string();
        assert!(denied.contains("pids = [8]"), "{denied}");
    }

    #[test]
    fn deny_all_denies_everything() {
        assert!(Policy::deny_all("x").check_redis("default").is_err());
    }
}
