//! The compiled-component cache: the second run of a component loads it
//! from the cache instead of compiling again.

use rigor_tests::{read_json, rigor, scenario};

#[test]
fn second_run_loads_the_compiled_component_from_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |n: usize| {
        let json = dir.path().join(format!("run{n}.json"));
        let out = rigor()
            .env("RIGOR_CACHE_DIR", cache.path())
            .args([
                "run",
                "--catalog",
                "tests/fixtures/catalogs/hostile.toml",
                "good",
                "--json",
            ])
            .arg(&json)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        read_json(&json)
    };
    let first = run(1);
    let second = run(2);
    let component = |r: &serde_json::Value| scenario(r, "good")["component"].clone();
    assert_eq!(component(&first)["cache"], "miss");
    assert_eq!(component(&second)["cache"], "hit");
    assert_eq!(component(&first)["sha256"], component(&second)["sha256"]);
    let cached: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
    assert_eq!(cached.len(), 1, "one compiled artefact: {cached:?}");

    // --no-cache compiles again and leaves the cache alone.
    let json = dir.path().join("run3.json");
    let out = rigor()
        .env("RIGOR_CACHE_DIR", cache.path())
        .args([
            "run",
            "--no-cache",
            "--catalog",
            "tests/fixtures/catalogs/hostile.toml",
            "good",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(component(&read_json(&json))["cache"], "miss");
}
