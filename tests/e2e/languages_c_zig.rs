//! C and Zig scenarios: `rigor new` → `rigor build` → `rigor run` against a
//! real redis-server with reports of the same shape as Rust's, the catalog's
//! C and Zig scenarios, `rigor inspect` listing only the interfaces a C
//! component uses (and no WASI), the compiler's own errors, and the install
//! hint when the toolchain cannot be installed.
//!
//! The Zig toolchain (PyPI `ziglang`) is installed on first use into the
//! user cache, as `rigor build` does for anyone.

use std::path::Path;

use rigor_tests::{
    ManagedRedis, Run, check, inspected_imports, metric, read_json, rigor, run_rigor, scenario,
};

use crate::languages::{assert_same_shape_as_rust, sibling_shape};

#[test]
fn new_build_run_in_c_and_zig_gives_reports_of_the_same_shape_as_rust() {
    assert_same_shape_as_rust(&["c", "zig"]);
}

#[test]
fn catalog_c_and_zig_scenarios_run_and_match_their_siblings() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let run = run_rigor(&[
        "run",
        "cache-baseline-py",
        "cache-baseline-c",
        "cache-baseline-zig",
        "fs-check-c",
        "--redis",
        &redis.url(),
        "--param",
        "cache-baseline-py:ops=200",
        "--param",
        "cache-baseline-c:ops=200",
        "--param",
        "cache-baseline-zig:ops=200",
        "--json",
        json.to_str().unwrap(),
    ]);
    let report = read_json(&json);
    let py = sibling_shape(&report, "cache-baseline-py", &run);
    assert_eq!(py["checks"].as_array().unwrap().len(), 2, "{py:#}");
    for name in ["cache-baseline-c", "cache-baseline-zig"] {
        assert_eq!(
            sibling_shape(&report, name, &run),
            py,
            "{name} differs from cache-baseline-py"
        );
        let s = scenario(&report, name);
        let hit = metric(s, "get.hit");
        assert_eq!(hit["summary"]["count"], 200, "{name}: {hit}");
        assert!(
            s["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["title"] == "Warm hit versus cold miss"),
            "{name}: {s:#}"
        );
    }
    // The scenarios clean up after themselves.
    assert_eq!(
        rigor_tests::redis_cli(redis.port(), &["DBSIZE"]),
        "0",
        "{}",
        run.describe()
    );

    let fs = scenario(&report, "fs-check-c");
    assert_eq!(fs["status"], "passed", "{fs:#}");
    for name in [
        "escape with .. is denied",
        "absolute path is denied",
        "symlink out of the root is denied",
        "reads return what was written",
    ] {
        check(fs, name);
    }
    let denial = check(fs, "escape with .. is denied");
    assert!(
        denial["detail"]
            .as_str()
            .unwrap()
            .starts_with("denied: `../outside` in `scratch` is denied"),
        "{denial}"
    );
}

#[test]
fn c_and_zig_components_import_only_the_interfaces_they_use_and_no_wasi() {
    let built = run_rigor(&[
        "build",
        "cache-baseline-c",
        "cache-baseline-zig",
        "fs-check-c",
    ]);
    assert_eq!(built.code, 0, "{}", built.describe());
    let path = |name: &str| {
        built
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("{name} not built\n{}", built.describe()))
            .trim_end_matches("  (up to date)")
            .to_owned()
    };
    let redis_only = [
        "rigor:scenario/metrics@0.1.0",
        "rigor:scenario/types@0.1.0",
        "rigor:scenario/report@0.1.0",
        "rigor:scenario/redis@0.1.0",
    ];
    for name in ["cache-baseline-c", "cache-baseline-zig"] {
        let mut imports = inspected_imports(Path::new(&path(name)));
        imports.sort();
        let mut expected = redis_only.map(String::from).to_vec();
        expected.sort();
        // The C SDK wraps every probe; the linker keeps only what is called.
        assert_eq!(imports, expected, "{name}");
    }
    let fs = inspected_imports(Path::new(&path("fs-check-c")));
    assert!(fs.contains(&"rigor:scenario/fs@0.1.0".to_owned()), "{fs:?}");
    assert!(
        fs.iter()
            .all(|i| i.starts_with("rigor:scenario/") && !i.contains("redis")),
        "{fs:?}"
    );
}

/// A catalog in a fresh folder with one C scenario and one Zig scenario.
fn native_catalog(c: &str, zig: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("c/scenario.c", c);
    write("z/scenario.zig", zig);
    write(
        "catalog.toml",
        "[[scenario]]\nname = \"c\"\nsource = \"c\"\n[[scenario]]\nname = \"z\"\nsource = \"z\"\n",
    );
    dir
}

#[test]
fn a_failing_c_or_zig_build_shows_the_compilers_own_error() {
    let dir = native_catalog(
        "#include \"rigor.h\"\nstatic bool run(const rigor_params *p, rigor_error *e) {\n    return undeclared_name;\n}\n",
        "const rigor = @import(\"rigor\");\ncomptime {\n    rigor.exportScenario(@This())\n}\n",
    );
    let cat = dir.path().to_str().unwrap();
    let c = run_rigor(&["build", "--catalog", cat, "c"]);
    assert_eq!(c.code, 2, "{}", c.describe());
    assert!(
        c.stderr
            .contains("building scenario `c` with zig cc failed")
            && c.stderr.contains("scenario.c:3:12: error:")
            && c.stderr.contains("undeclared_name"),
        "{}",
        c.describe()
    );
    let zig = run_rigor(&["build", "--catalog", cat, "z"]);
    assert_eq!(zig.code, 2, "{}", zig.describe());
    assert!(
        zig.stderr
            .contains("building scenario `z` with zig build-exe failed")
            && zig.stderr.contains("scenario.zig:")
            && zig.stderr.contains("error:"),
        "{}",
        zig.describe()
    );
}

#[test]
fn a_missing_zig_toolchain_says_how_to_install_it() {
    let dir = native_catalog("", "");
    let toolchains = tempfile::tempdir().unwrap();
    for name in ["c", "z"] {
        let build: Run = rigor()
            .env("PATH", "/nonexistent")
            .env("RIGOR_TOOLCHAINS", toolchains.path())
            .args(["build", "--catalog", dir.path().to_str().unwrap(), name])
            .output()
            .expect("running the rigor binary")
            .into();
        assert_eq!(build.code, 2, "{}", build.describe());
        assert!(
            build.stderr.contains("`python3` is needed")
                && build.stderr.contains("ziglang")
                && build
                    .stderr
                    .contains("apt-get install python3 python3-venv"),
            "{}",
            build.describe()
        );
    }
    // Nothing half-installed is left behind.
    assert_eq!(
        std::fs::read_dir(toolchains.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("ziglang-0"))
            .count(),
        0
    );
}
