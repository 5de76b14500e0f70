//! Invalid input ends with exit code 2 and one clear line on stderr, never a
//! panic, before anything runs.

use rigor_tests::{Run, run_rigor};

fn assert_invalid(run: &Run, needle: &str) {
    assert_eq!(run.code, 2, "{}", run.describe());
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr\n{}",
        run.describe()
    );
    assert!(lines[0].starts_with("error: "), "{}", run.describe());
    assert!(
        lines[0].contains(needle),
        "expected `{needle}`\n{}",
        run.describe()
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.describe());
}

fn write_component(dir: &std::path::Path, name: &str, wat_text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, wat::parse_str(wat_text).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn a_file_that_is_not_wasm_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.wasm");
    std::fs::write(&path, "hello, I am text").unwrap();
    let run = run_rigor(&["run", path.to_str().unwrap()]);
    assert_invalid(&run, "is not a WebAssembly component");
    assert_invalid(&run, "magic number");
}

#[test]
fn a_core_module_is_rejected_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_component(dir.path(), "core.wasm", "(module)");
    assert_invalid(&run_rigor(&["run", &path]), "core WebAssembly module");
}

#[test]
fn a_component_of_another_world_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_component(dir.path(), "empty.wasm", "(component)");
    let run = run_rigor(&["run", &path]);
    assert_invalid(&run, "does not export `describe` and `run`");
    assert_invalid(&run, "rigor:scenario/scenario@0.1.0");
}

#[test]
fn a_component_built_against_another_contract_version_names_both() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_component(
        dir.path(),
        "future.wasm",
        r#"(component (import "rigor:scenario/clock@0.2.0" (instance)))"#,
    );
    let run = run_rigor(&["run", &path]);
    assert_invalid(&run, "rigor:scenario@0.2.0");
    assert_invalid(&run, "rigor:scenario@0.1.0");
}

#[test]
fn an_unknown_scenario_name_is_rejected() {
    let run = run_rigor(&["run", "no-such-scenario"]);
    assert_invalid(&run, "unknown scenario `no-such-scenario`");
    assert_invalid(&run, "redis-latency");
}

#[test]
fn unparseable_and_ill_typed_params_are_rejected() {
    assert_invalid(
        &run_rigor(&["run", "redis-latency", "--param", "ops"]),
        "invalid --param `ops`",
    );
    assert_invalid(
        &run_rigor(&["run", "redis-latency", "--param", "ops=many"]),
        "expected an integer, got `many`",
    );
    assert_invalid(
        &run_rigor(&["run", "redis-latency", "--param", "colour=blue"]),
        "unknown parameter `colour`",
    );
}

#[test]
fn a_bad_threshold_expression_is_rejected_with_its_column() {
    let run = run_rigor(&[
        "run",
        "redis-latency",
        "--threshold",
        "redis-latency:get.100B:p(99)<1xs",
    ]);
    assert_invalid(&run, "invalid --threshold");
    assert_invalid(&run, "column");
    assert_invalid(
        &run_rigor(&["run", "redis-latency", "--threshold", "get.100B<1ms"]),
        "expected `scenario:metric:expression`",
    );
}

#[test]
fn catalog_errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.toml");
    std::fs::write(
        &catalog,
        "[[scenario]]\nname = \"x\"\nsource = \"x.wasm\"\n[scenario.thresholds]\n\"get\" = [\"avg <\"]\n",
    )
    .unwrap();
    let run = run_rigor(&["run", "--catalog", catalog.to_str().unwrap()]);
    assert_invalid(&run, &format!("{}:5:10:", catalog.display()));

    std::fs::write(
        &catalog,
        "[[scenario]]\nname = \"x\"\nsource = \"x.wasm\"\nlimit = 3\n",
    )
    .unwrap();
    let run = run_rigor(&["run", "--catalog", catalog.to_str().unwrap()]);
    assert_invalid(
        &run,
        &format!("{}:4:1: unknown field `limit`", catalog.display()),
    );
}
