//! What identifies a run in its report: the run id shared by its shards,
//! the digest of its plan (so a merge refuses reports of different plans),
//! the catalog's digest, the versions and the host facts that matter to a
//! reproduction.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::catalog::plan::PlannedScenario;

/// The wasmtime this rigor is built with (pinned exactly in Cargo.toml;
/// a unit test keeps the two equal).
pub const WASMTIME_VERSION: &str = "48.0.8";

/// Longest run id accepted.
pub const MAX_RUN_ID_LEN: usize = 128;

/// `sha256:` and the hex digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(7 + 64);
    hex.push_str("sha256:");
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// The digest of the plan: every scenario in order with its parameters,
/// its catalog and command-line thresholds and its shard mode. Components
/// are compared by their own digests, not here, so a rebuilt component
/// is named as such.
pub fn plan_digest(plan: &[PlannedScenario]) -> String {
    let canonical: Vec<serde_json::Value> = plan
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "shard": p.shard.as_str(),
                "params": p.params,
                "thresholds": p
                    .thresholds
                    .iter()
                    .map(|t| (t.metric.clone(), t.expression.to_string(), t.source.as_str()))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    sha256(serde_json::Value::Array(canonical).to_string().as_bytes())
}

/// The digest of a catalog file (a folder means its `catalog.toml`).
pub fn catalog_digest(path: &Path) -> Option<String> {
    let file = if path.is_dir() {
        path.join("catalog.toml")
    } else {
        path.to_owned()
    };
    std::fs::read(file).ok().map(|bytes| sha256(&bytes))
}

/// A run id as given (`--run-id`): letters, digits and `-_.:`, so it is
/// safe in file names, Job names and log lines.
pub fn check_run_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_RUN_ID_LEN {
        return Err(format!("--run-id: must be 1 to {MAX_RUN_ID_LEN} bytes"));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.:".contains(*c)))
    {
        return Err(format!(
            "--run-id `{id}`: `{c}` is not allowed; use letters, digits, `-`, `_`, `.` and `:`"
        ));
    }
    Ok(())
}

/// The run id when none is given: derived from the plan when sharded (so
/// the shards agree without talking to each other), from the seed and
/// the time otherwise.
pub fn default_run_id(plan_digest: &str, sharded: bool, seed: u64) -> String {
    let plan = plan_digest.trim_start_matches("sha256:");
    if sharded {
        format!("plan-{}", &plan[..12.min(plan.len())])
    } else {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("{secs:x}-{:08x}", super::seed::mix(seed) as u32)
    }
}

/// The CPU model, from `/proc/cpuinfo` (`None` elsewhere).
pub fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name") || l.starts_with("Model"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The kernel release (`uname -r`).
pub fn kernel() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wasmtime_version_is_the_one_in_the_lock_file() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"))
            .expect("the workspace lock file");
        let pinned = lock
            .split("[[package]]")
            .find(|p| p.contains("\nname = \"wasmtime\"\n"))
            .and_then(|p| p.lines().find(|l| l.starts_with("version = ")))
            .map(|l| {
                l.trim_start_matches("version = ")
                    .trim_matches('"')
                    .to_owned()
            });
        assert_eq!(pinned.as_deref(), Some(WASMTIME_VERSION));
    }

    #[test]
    fn run_ids_are_checked_and_sharded_defaults_agree() {
        assert!(check_run_id("gh-123-1").is_ok());
        let err = check_run_id("a b").unwrap_err();
        assert!(err.contains("` ` is not allowed"), "{err}");
        assert!(check_run_id("").is_err());
        let d = sha256(b"plan");
        assert_eq!(default_run_id(&d, true, 1), default_run_id(&d, true, 2));
        assert!(default_run_id(&d, true, 1).starts_with("plan-"));
    }
}
