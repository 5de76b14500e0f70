//! The deployment examples validate against the published schemas: the
//! Kubernetes resource schemas (kubernetes-validate, strict) and the GitHub
//! workflow and GitLab CI schemas (check-jsonschema's built-in vendor
//! schemas), all installed from PyPI by `scripts/deploy-venv.sh`. A broken
//! copy of each is refused, so the validators are really checking.

use std::path::{Path, PathBuf};
use std::process::Command;

use rigor_tests::repo_root;

/// The venv's bin folder, installed on first use.
fn validators() -> PathBuf {
    let out = Command::new(repo_root().join("scripts/deploy-venv.sh"))
        .output()
        .expect("running scripts/deploy-venv.sh");
    assert!(
        out.status.success(),
        "scripts/deploy-venv.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn run(bin: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(bin)
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The oldest Kubernetes with every Job field the manifests use GA
/// (`backoffLimitPerIndex`, `podFailurePolicy` with `FailIndex`).
const KUBERNETES: &str = "1.33.0";

#[test]
fn deployment_examples_validate_against_the_published_schemas() {
    let bin = validators();
    let kube = bin.join("kubernetes-validate");
    let check = bin.join("check-jsonschema");
    for manifest in [
        "deploy/kubernetes/rigor-shards.yaml",
        "deploy/kubernetes/rigor-merge.yaml",
    ] {
        let (ok, text) = run(&kube, &["--strict", "-k", KUBERNETES, manifest]);
        assert!(ok, "{manifest}: {text}");
        assert!(text.contains("passed"), "{text}");
    }
    let (ok, text) = run(
        &check,
        &[
            "--builtin-schema",
            "vendor.github-workflows",
            "deploy/github-actions/rigor-sharded.yml",
        ],
    );
    assert!(ok, "{text}");
    let (ok, text) = run(
        &check,
        &[
            "--builtin-schema",
            "vendor.gitlab-ci",
            "deploy/gitlab/.gitlab-ci.yml",
        ],
    );
    assert!(ok, "{text}");

    // Broken copies are refused.
    let dir = tempfile::tempdir().unwrap();
    let shards =
        std::fs::read_to_string(repo_root().join("deploy/kubernetes/rigor-shards.yaml")).unwrap();
    let bad_job = dir.path().join("job.yaml");
    std::fs::write(
        &bad_job,
        shards.replace(
            "completionMode: Indexed",
            "completionMode: Indexed\n  shards: 4",
        ),
    )
    .unwrap();
    let (ok, text) = run(
        &kube,
        &["--strict", "-k", KUBERNETES, bad_job.to_str().unwrap()],
    );
    assert!(!ok && text.contains("shards"), "{text}");
    let workflow =
        std::fs::read_to_string(repo_root().join("deploy/github-actions/rigor-sharded.yml"))
            .unwrap();
    let bad_workflow = dir.path().join("workflow.yml");
    std::fs::write(
        &bad_workflow,
        workflow.replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest"),
    )
    .unwrap();
    let (ok, text) = run(
        &check,
        &[
            "--builtin-schema",
            "vendor.github-workflows",
            bad_workflow.to_str().unwrap(),
        ],
    );
    assert!(!ok, "{text}");
}

/// The Kubernetes Job and the workflows run the command lines the tests
/// run: shard count and index from the environment, deferred thresholds,
/// a merge that gates.
#[test]
fn deployment_examples_use_the_tested_command_lines() {
    let read = |p: &str| std::fs::read_to_string(repo_root().join(p)).unwrap();
    let job = read("deploy/kubernetes/rigor-shards.yaml");
    for needle in [
        "completionMode: Indexed",
        "completions: 4",
        "parallelism: 4",
        "name: RIGOR_SHARD_COUNT",
        "--defer-thresholds",
        "shard-$(JOB_COMPLETION_INDEX).json",
    ] {
        assert!(job.contains(needle), "rigor-shards.yaml lacks {needle}");
    }
    assert!(read("deploy/kubernetes/rigor-merge.yaml").contains("rigor merge shard-*.json"));
    let gh = read("deploy/github-actions/rigor-sharded.yml");
    assert!(gh.contains("RIGOR_SHARD: ${{ matrix.shard }}/${{ env.SHARDS }}"));
    assert!(gh.contains("needs: shard") && gh.contains("rigor merge shards/shard-*.json"));
    let gl = read("deploy/gitlab/.gitlab-ci.yml");
    assert!(
        gl.contains("parallel: 4") && gl.contains("RIGOR_SHARD: $CI_NODE_INDEX/$CI_NODE_TOTAL")
    );
}
