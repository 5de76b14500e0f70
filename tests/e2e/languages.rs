//! Scenarios in Rust, Python and JavaScript: `rigor new` → `rigor build` →
//! `rigor run` for each language against a real redis-server, reports of the
//! same shape from the same logic, the catalog's Python and JavaScript
//! scenarios, and `rigor inspect` listing exactly what a component imports.
//!
//! The Python and JavaScript toolchains (componentize-py, componentize-js)
//! are installed on first use into the user cache, like `rigor build` does
//! for anyone.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rigor_tests::{ManagedRedis, Run, read_json, repo_root, rigor, run_rigor, scenario};

/// Runs `rigor` with `args`, with Rust guests of standalone folders sharing
/// one target dir so their dependencies compile once.
pub(crate) fn rigor_in(args: &[&str]) -> Run {
    rigor()
        .env("CARGO_TARGET_DIR", repo_root().join("target/e2e-guests"))
        .args(args)
        .output()
        .expect("running the rigor binary")
        .into()
}

/// The comparable shape of one scenario report: metric names and units,
/// check names and outcomes, thresholds, status.
pub(crate) fn shape(s: &serde_json::Value) -> serde_json::Value {
    let names = |key: &str, fields: &[&str]| -> Vec<serde_json::Value> {
        let mut out: Vec<serde_json::Value> = s[key]
            .as_array()
            .unwrap_or_else(|| panic!("`{key}` array in {s:#}"))
            .iter()
            .map(|item| {
                fields
                    .iter()
                    .map(|f| ((*f).to_owned(), item[*f].clone()))
                    .collect::<serde_json::Map<_, _>>()
                    .into()
            })
            .collect();
        out.sort_by_key(|v| v.to_string());
        out
    };
    serde_json::json!({
        "status": s["status"],
        "metrics": names("metrics", &["name", "kind", "unit"]),
        "checks": names("checks", &["name", "passed"]),
        "thresholds": names("thresholds", &["metric", "expression", "passed", "source"]),
        "params": s["params"].as_object().map(|p| p.keys().cloned().collect::<Vec<_>>()),
    })
}

/// Scenario `name` of `report`, asserted to have run to a verdict with every
/// check passing; its status may be `failed`, since latency thresholds may
/// fail on a loaded machine while checks must not.
fn ran_with_every_check_passing<'a>(
    report: &'a serde_json::Value,
    name: &str,
    run: &Run,
) -> &'a serde_json::Value {
    let s = scenario(report, name);
    let status = s["status"].as_str().unwrap();
    assert!(
        status == "passed" || status == "failed",
        "{name}: {status}\n{}",
        run.describe()
    );
    for check in s["checks"].as_array().unwrap() {
        assert_eq!(check["passed"], true, "{name}: {check}");
    }
    s
}

/// The shape of `name` in `report` to compare with its sibling in another
/// language: its checks must all pass, while its status and threshold
/// verdicts are left out (latency thresholds may fail on a loaded machine).
pub(crate) fn sibling_shape(
    report: &serde_json::Value,
    name: &str,
    run: &Run,
) -> serde_json::Value {
    let mut s = shape(ran_with_every_check_passing(report, name, run));
    s.as_object_mut().unwrap().remove("status");
    for t in s["thresholds"].as_array_mut().unwrap() {
        t.as_object_mut().unwrap().remove("passed");
    }
    s
}

pub(crate) fn new_build_run(lang: &str, root: &Path, redis_url: &str) -> serde_json::Value {
    let name = format!("demo-{lang}");
    let catalog = root.join(lang);
    std::fs::create_dir_all(&catalog).unwrap();
    std::fs::write(
        catalog.join("catalog.toml"),
        "# scenarios made by `rigor new`\n",
    )
    .unwrap();
    let cat = catalog.to_str().unwrap();

    let made = rigor_in(&["new", "--lang", lang, &name, "--catalog", cat]);
    assert_eq!(made.code, 0, "rigor new --lang {lang}\n{}", made.describe());
    assert!(catalog.join(&name).join("README.md").is_file());

    let built = rigor_in(&["build", "--catalog", cat, &name]);
    assert_eq!(built.code, 0, "rigor build ({lang})\n{}", built.describe());
    let component = built
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no output path\n{}", built.describe()))
        .trim_end_matches("  (up to date)")
        .to_owned();
    assert!(Path::new(&component).is_file(), "{component}");

    let json = catalog.join("report.json");
    let run = rigor_in(&[
        "run",
        "--catalog",
        cat,
        &name,
        "--redis",
        redis_url,
        "--param",
        "ops=50",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "rigor run ({lang})\n{}", run.describe());
    let report = read_json(&json);
    let s = scenario(&report, &name);
    assert_eq!(s["status"], "passed", "{lang}: {s:#}");
    for metric in ["set", "get"] {
        let m = s["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == metric)
            .unwrap_or_else(|| panic!("{lang}: metric {metric} missing: {s:#}"));
        assert_eq!(m["summary"]["count"], 50, "{lang} {metric}");
    }
    // A second build finds everything up to date (cargo decides for Rust).
    if lang != "rust" {
        let again = rigor_in(&["build", "--catalog", cat, &name]);
        assert!(
            again.stdout.contains("(up to date)"),
            "{}",
            again.describe()
        );
    }
    shape(s)
}

/// `rigor new` → build → run in Rust and in each of `languages`, all at
/// once against one redis-server; every report has Rust's shape.
pub(crate) fn assert_same_shape_as_rust(languages: &[&str]) {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let root = tempfile::tempdir().unwrap();
    let url = redis.url();
    let shapes: Vec<(&str, serde_json::Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = std::iter::once("rust")
            .chain(languages.iter().copied())
            .map(|lang| {
                let (root, url) = (root.path(), url.as_str());
                (lang, scope.spawn(move || new_build_run(lang, root, url)))
            })
            .collect();
        handles
            .into_iter()
            .map(|(lang, h)| (lang, h.join().expect("language thread panicked")))
            .collect()
    });
    let (_, rust) = &shapes[0];
    assert!(rust["metrics"].as_array().unwrap().len() >= 2, "{rust:#}");
    for (lang, other) in &shapes[1..] {
        assert_eq!(other, rust, "{lang} report differs from rust");
    }
}

#[test]
fn new_build_run_in_rust_python_and_js_gives_reports_of_the_same_shape() {
    assert_same_shape_as_rust(&["python", "js"]);
}

/// Builds the catalog's scenarios; returns name → component path.
fn build_catalog(names: &[&str]) -> Vec<(String, PathBuf)> {
    let mut args = vec!["build"];
    args.extend_from_slice(names);
    let built = rigor_in(&args);
    assert_eq!(built.code, 0, "{}", built.describe());
    built
        .stdout
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(name, path)| {
            (
                name.to_owned(),
                PathBuf::from(path.trim_end_matches("  (up to date)")),
            )
        })
        .collect()
}

#[test]
fn catalog_python_and_js_scenarios_run_against_redis() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let run = run_rigor(&[
        "run",
        "cache-baseline-py",
        "session-store-js",
        "items-api-js",
        "--redis",
        &redis.url(),
        "--param",
        "cache-baseline-py:ops=200",
        "--param",
        "session-store-js:sessions=100",
        "--param",
        "session-store-js:ttl=2m",
        "--param",
        "items-api-js:items=100",
        "--json",
        json.to_str().unwrap(),
    ]);
    let report = read_json(&json);
    for (name, metrics) in [
        (
            "cache-baseline-py",
            &["get.miss", "set.fill", "get.hit"][..],
        ),
        (
            "session-store-js",
            &["session.write", "session.read", "session.touch"][..],
        ),
        ("items-api-js", &["items.create", "items.get"][..]),
    ] {
        let s = ran_with_every_check_passing(&report, name, &run);
        assert!(s["checks"].as_array().unwrap().len() >= 2, "{name}: {s:#}");
        for metric in metrics {
            let m = s["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == *metric)
                .unwrap_or_else(|| panic!("{name}: {metric} missing"));
            assert!(
                m["summary"]["count"].as_u64().unwrap() >= 100,
                "{name}: {m}"
            );
            assert!(m["summary"]["p50"].as_u64().unwrap() > 1_000, "{name}: {m}");
        }
    }
    let py = scenario(&report, "cache-baseline-py");
    assert_eq!(py["params"]["value-size"], "1KiB");
    assert!(
        py["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["title"] == "Warm hit versus cold miss"),
        "{py:#}"
    );
    // The scenarios clean up after themselves.
    assert_eq!(
        rigor_tests::redis_cli(redis.port(), &["DBSIZE"]),
        "0",
        "{}",
        run.describe()
    );
}

/// The top-level import names of a component, read straight from its bytes
/// with wasmparser (independently of the engine `rigor inspect` uses).
fn raw_imports(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let mut names = Vec::new();
    // Nested modules and components have imports of their own: count depth.
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        match payload.unwrap() {
            wasmparser::Payload::ComponentImportSection(section) if depth == 0 => {
                for import in section {
                    names.push(import.unwrap().name.name.to_owned());
                }
            }
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    names
}

#[test]
fn inspect_lists_exactly_the_imports_of_each_catalog_component() {
    let components = build_catalog(&[
        "redis-latency",
        "cache-baseline-py",
        "session-store-js",
        "items-api-js",
    ]);
    assert_eq!(components.len(), 4, "{components:?}");
    for (name, path) in components {
        let run = run_rigor(&["inspect", "--json", path.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{name}\n{}", run.describe());
        let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(out["world"], "rigor:scenario/scenario@0.1.0", "{name}");
        assert_eq!(out["supported"], true);
        assert_eq!(out["describe"]["name"], name.as_str(), "{out:#}");
        let listed: Vec<String> = out["imports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect();
        // Interfaces are what a component can call; a bare name such as
        // `params` is a type import (the exported signature's types).
        let interfaces: Vec<String> = raw_imports(&path)
            .into_iter()
            .filter(|n| n.contains('/'))
            .collect();
        assert_eq!(listed, interfaces, "{name}");

        // Built against 0.1.0, each imports a subset of what this host
        // offers: interfaces added later do not concern it.
        let contract: BTreeSet<&str> = listed
            .iter()
            .filter_map(|n| n.strip_prefix("rigor:scenario/"))
            .collect();
        // Only the JavaScript scenario that starts a service imports the
        // process and HTTP probes, and it alone does not import Redis: the
        // SDK's probe modules add only what the scenario imports.
        let starts_a_service = name == "items-api-js";
        assert_eq!(
            contract.contains("redis@0.1.0"),
            !starts_a_service,
            "{name}: {contract:?}"
        );
        if name.ends_with("-py") || name.ends_with("-js") {
            // The SDK's core module.
            for core in ["clock@0.1.0", "metrics@0.1.0", "report@0.1.0"] {
                assert!(contract.contains(core), "{name}: {contract:?}");
            }
        }
        assert_eq!(
            contract.contains("process@0.1.0"),
            starts_a_service,
            "{name}: {contract:?}"
        );
        assert_eq!(
            contract.contains("http@0.1.0"),
            starts_a_service,
            "{name}: {contract:?}"
        );
        for unused in ["fs@0.1.0", "memory@0.1.0", "websocket@0.1.0"] {
            assert!(!contract.contains(unused), "{name}: {contract:?}");
        }
        let (interface, function) = if starts_a_service {
            ("rigor:scenario/process@0.1.0", "spawn")
        } else {
            ("rigor:scenario/redis@0.1.0", "[static]connection.open")
        };
        let functions: Vec<&str> = out["imports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == interface)
            .unwrap()["functions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert!(functions.contains(&function), "{name}: {functions:?}");
        if name.ends_with("-js") {
            // Built without WASI: it reaches the world only through probes.
            assert!(
                listed.iter().all(|n| n.starts_with("rigor:scenario/")),
                "{listed:?}"
            );
        }
    }
}

#[test]
fn inspect_rejects_a_component_of_another_contract_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.wasm");
    std::fs::write(
        &path,
        wat::parse_str(
            r#"(component
                (import "rigor:scenario/clock@0.2.0" (instance (export "now" (func (result u64)))))
                (core module $m (func (export "describe")) (func (export "run")))
            )"#,
        )
        .unwrap(),
    )
    .unwrap();
    let run = run_rigor(&["inspect", path.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(
        run.stdout.contains("rigor:scenario/clock@0.2.0") && run.stdout.contains("now"),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("NOT supported by this host"),
        "{}",
        run.describe()
    );
    let ran = run_rigor(&["run", path.to_str().unwrap()]);
    assert_eq!(ran.code, 2, "{}", ran.describe());
    assert!(
        ran.stderr.contains("rigor:scenario@0.2.0") && ran.stderr.contains("rigor:scenario@0.1.0"),
        "{}",
        ran.describe()
    );
}

/// A catalog in a fresh folder with one Python and one JavaScript scenario
/// whose sources are `py` and `js`.
fn script_catalog(py: &str, js: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("p/app.py", py);
    write("j/package.json", "{ \"main\": \"scenario.js\" }");
    write("j/scenario.js", js);
    write(
        "catalog.toml",
        "[[scenario]]\nname = \"p\"\nsource = \"p\"\n[[scenario]]\nname = \"j\"\nsource = \"j\"\n",
    );
    dir
}

#[test]
fn a_failing_build_shows_the_toolchains_own_error() {
    let dir = script_catalog("import rigor\ndef run(:\n", "export function run( {\n");
    let cat = dir.path().to_str().unwrap();
    let py = run_rigor(&["build", "--catalog", cat, "p"]);
    assert_eq!(py.code, 2, "{}", py.describe());
    assert!(
        py.stderr
            .contains("building scenario `p` with componentize-py")
            && py.stderr.contains("SyntaxError"),
        "{}",
        py.describe()
    );
    let js = run_rigor(&["build", "--catalog", cat, "j"]);
    assert_eq!(js.code, 2, "{}", js.describe());
    assert!(
        js.stderr
            .contains("building scenario `j` with componentize-js")
            && js.stderr.contains("SyntaxError"),
        "{}",
        js.describe()
    );
}

#[test]
fn a_missing_toolchain_says_how_to_install_it() {
    let dir = script_catalog("", "");
    let toolchains = tempfile::tempdir().unwrap();
    let build = |name: &str| -> Run {
        rigor()
            .env("PATH", "/nonexistent")
            .env("RIGOR_TOOLCHAINS", toolchains.path())
            .args(["build", "--catalog", dir.path().to_str().unwrap(), name])
            .output()
            .expect("running the rigor binary")
            .into()
    };
    let py = build("p");
    assert_eq!(py.code, 2, "{}", py.describe());
    assert!(
        py.stderr.contains("`python3` is needed") && py.stderr.contains("apt-get install python3"),
        "{}",
        py.describe()
    );
    let js = build("j");
    assert_eq!(js.code, 2, "{}", js.describe());
    assert!(
        js.stderr.contains("`node` is needed") && js.stderr.contains("apt-get install nodejs npm"),
        "{}",
        js.describe()
    );
}

/// A scenario built against 0.1.0 that imports one interface (`clock`) of
/// the several the host now offers: a subset, so it runs.
const SUBSET_SCENARIO: &str = r#"(component
  (import "rigor:scenario/clock@0.1.0" (instance $clock (export "now" (func (result u64)))))
  (core module $m
    (memory (export "mem") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      global.get $bump
      i32.const 7 i32.add i32.const -8 i32.and local.tee $p
      local.get 3 i32.add global.set $bump
      local.get $p)
    (data (i32.const 0) "wat-subset")
    (data (i32.const 16) "imports only the clock")
    ;; scenario-info: name (ptr, len), description (ptr, len), params (ptr, len)
    (data (i32.const 64) "\00\00\00\00\0a\00\00\00\10\00\00\00\16\00\00\00\00\00\00\00\00\00\00\00")
    (func (export "describe") (result i32) i32.const 64)
    ;; result<_, string>: discriminant 0 (ok)
    (data (i32.const 128) "\00\00\00\00\00\00\00\00\00\00\00\00")
    (func (export "run") (param i32 i32) (result i32) i32.const 128)
  )
  (core instance $i (instantiate $m))
  (type $param-info' (record (field "name" string) (field "default-value" string) (field "description" string)))
  (export $param-info "param-info" (type $param-info'))
  (type $info' (record (field "name" string) (field "description" string) (field "params" (list $param-info))))
  (export $info "scenario-info" (type $info'))
  (func (export "describe") (result $info) (canon lift (core func $i "describe") (memory (core memory $i "mem"))))
  (func (export "run") (param "params" (list (tuple string string))) (result (result (error string)))
    (canon lift (core func $i "run") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
)"#;

#[test]
fn a_component_importing_a_subset_of_the_contract_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wat-subset.wasm");
    std::fs::write(&path, wat::parse_str(SUBSET_SCENARIO).unwrap()).unwrap();
    let file = path.to_str().unwrap();
    let inspected = run_rigor(&["inspect", "--json", file]);
    assert_eq!(inspected.code, 0, "{}", inspected.describe());
    let out: serde_json::Value = serde_json::from_str(&inspected.stdout).unwrap();
    assert_eq!(out["world"], "rigor:scenario/scenario@0.1.0", "{out:#}");
    assert_eq!(out["describe"]["name"], "wat-subset", "{out:#}");
    assert_eq!(out["imports"].as_array().unwrap().len(), 1, "{out:#}");
    let json = dir.path().join("report.json");
    let run = run_rigor(&["run", file, "--json", json.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(
        scenario(&read_json(&json), "wat-subset")["status"],
        "passed"
    );
}
