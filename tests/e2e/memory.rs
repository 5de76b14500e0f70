//! The memory probe through the `memory-leak` scenario against the service
//! under test: a 10 KB-per-request leak is flagged with its slope, a clean
//! service passes, over repeated runs; the series lands in the report.

use rigor_tests::{Run, read_json, rigor, scenario};

fn run_memory_leak(target: &str) -> (Run, serde_json::Value) {
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("report.json");
    let run: Run = rigor()
        .args(["run", "memory-leak", "--json", json.to_str().unwrap()])
        .args(["--param", &format!("target={target}")])
        .output()
        .expect("running rigor")
        .into();
    (run, read_json(&json))
}

fn gauge(s: &serde_json::Value, name: &str) -> f64 {
    s["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("metric {name} missing: {:#}", s["metrics"]))["value"]
        .as_f64()
        .unwrap()
}

#[test]
fn memory_leak_flags_the_leaky_service_and_passes_the_clean_one_every_time() {
    for round in 0..2 {
        let (run, report) = run_memory_leak("leaky");
        let s = scenario(&report, "memory-leak");
        assert_eq!(s["status"], "failed", "round {round}\n{}", run.describe());
        assert_eq!(run.code, 1);
        let slope = gauge(s, "service.slope-bytes-per-op");
        assert!(
            (9_000.0..13_000.0).contains(&slope),
            "round {round}: slope {slope} B/op for a 10 KiB leak"
        );
        assert!(gauge(s, "service.slope-bytes-per-op-ci-low") > 1024.0);
        assert!(gauge(s, "service.mann-kendall-p") < 0.05);
        assert_eq!(gauge(s, "service.samples"), 6.0);
        assert_eq!(gauge(s, "service.leak"), 1.0);
        let findings = s["findings"].to_string();
        assert!(findings.contains("leaks about"), "{findings}");
        assert!(findings.contains("B/op"), "{findings}");
        // The series, for plots: baseline + one sample per 1,000 requests.
        let series = s["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "service.rss-bytes")
            .expect("the RSS series is in the report");
        assert_eq!(series["series"].as_array().unwrap().len(), 6, "{series}");

        let (run, report) = run_memory_leak("clean");
        let s = scenario(&report, "memory-leak");
        assert_eq!(s["status"], "passed", "round {round}\n{}", run.describe());
        assert_eq!(gauge(s, "service.leak"), 0.0);
        // Margin: the clean slope is far below the 1 KiB/op limit.
        let slope = gauge(s, "service.slope-bytes-per-op");
        assert!(
            slope.abs() < 256.0,
            "round {round}: clean slope {slope} B/op"
        );
    }
}
