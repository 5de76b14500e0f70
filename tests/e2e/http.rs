//! The http probe end to end: `service-integration` against the live
//! service (closed and open loads, a shell client, error responses), and a
//! URL outside the grants denied.

use std::path::Path;

use crate::process::{assert_gone, check_named, logged_pids, metric, run_in_catalog, run_scenario};
use rigor_tests::repo_root;

#[test]
fn integration_suite_passes_against_the_live_service() {
    let (s, stderr) = run_scenario(
        "service-integration",
        &[
            "requests=200",
            "workers=4",
            "rate=100.0",
            "open-duration-ms=500",
            "p99-ms=2000",
        ],
    );
    assert_eq!(s["status"], "passed", "{s:#}\n{stderr}");
    assert_eq!(metric(&s, "items.get")["summary"]["count"], 200);
    assert_eq!(metric(&s, "items.post")["summary"]["count"], 50);
    // 100/s for 0.5 s: 50 slots on the timeline.
    let open = metric(&s, "health.open")["summary"]["count"]
        .as_u64()
        .unwrap();
    assert!((49..=50).contains(&open), "{open}");
    assert_eq!(metric(&s, "items.get.error-rate")["value"], 0.0);
    assert!(
        metric(&s, "items.get.throughput")["value"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(
        check_named(&s, "shell client prints `create: 201`")["passed"],
        true
    );
    assert_eq!(
        check_named(&s, "GET /error answers 500 with an error message")["passed"],
        true
    );
    assert!(s["checks"].as_array().unwrap().len() >= 15);
    assert_gone(&logged_pids(&s));
}

#[test]
fn integration_suite_fails_when_the_service_cannot_start() {
    let (s, stderr) = run_scenario("service-integration", &["fixture-mode=fail-at-start"]);
    assert_eq!(s["status"], "failed", "{s:#}\n{stderr}");
    assert_eq!(s["findings"][0]["severity"], "critical");
    assert!(
        s["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["name"] != "items.get"),
        "no load may run against a dead service"
    );
    assert_gone(&logged_pids(&s));
}

/// The parameters of `production-simulation`.
const PARAMS: &str = r#"[scenario.params]
fixture-mode = { default = "healthy" }
ready-timeout-ms = { default = 5000 }
health-requests = { default = 50 }
stop-grace-ms = { default = 3000 }
health-p99-ms = { default = 100 }
"#;

/// A catalog whose `production-simulation` may run the service but reach
/// only `localhost` over HTTP.
fn catalog_granting_only_localhost(dir: &Path) -> std::path::PathBuf {
    std::os::unix::fs::symlink(repo_root().join("scenarios/sut"), dir.join("sut")).unwrap();
    let catalog = dir.join("catalog.toml");
    std::fs::write(
        &catalog,
        format!(
            "[[scenario]]\nname = \"production-simulation\"\nsource = \"{}\"\ngrants = {{ exec = [\"./sut/service.py\"], http = [\"localhost\"], env = [\"PORT\", \"APP_ENV\", \"SECRET_KEY\", \"PYTHONUNBUFFERED\"] }}\n{PARAMS}",
            repo_root().join("scenarios/production-simulation").display()
        ),
    )
    .unwrap();
    catalog
}

#[test]
fn a_url_on_an_ungranted_host_is_denied() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_granting_only_localhost(dir.path());
    let (s, stderr) = run_in_catalog(Some(&catalog), "production-simulation", &[]);
    assert_eq!(s["status"], "errored", "{s:#}\n{stderr}");
    let message = s["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("denied: HTTP host `127.0.0.1:"),
        "{message}"
    );
    assert!(message.contains(r#"add `http = ["127.0.0.1:"#), "{message}");
    // The service it had started is gone with the scenario.
    assert_gone(&logged_pids(&s));
}
