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

/// A cache folder other users can write is refused before anything is
/// loaded from it or written into it, with the fix; an entry copied over
/// another component's name or altered is recompiled, and the report says so.
#[test]
fn an_unsafe_folder_is_refused_and_a_swapped_entry_is_rejected() {
    use std::os::unix::fs::PermissionsExt;
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |names: &[&str], json: &std::path::Path| {
        let mut args = vec!["run", "--catalog", "tests/fixtures/catalogs/hostile.toml"];
        args.extend_from_slice(names);
        rigor()
            .env("RIGOR_CACHE_DIR", cache.path())
            .args(args)
            .arg("--json")
            .arg(json)
            .output()
            .unwrap()
    };
    std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = run(&["good"], &dir.path().join("refused.json"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("writable by other users"), "{stderr}");
    assert!(stderr.contains("chmod go-w"), "{stderr}");
    assert!(std::fs::read_dir(cache.path()).unwrap().next().is_none());

    std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let json = dir.path().join("first.json");
    let out = run(&["good"], &json);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    // Tamper with the compiled code, keeping the entry's name and size.
    let mut data = std::fs::read(&entries[0]).unwrap();
    let middle = data.len() / 2;
    data[middle] ^= 0xff;
    std::fs::write(&entries[0], data).unwrap();
    let json = dir.path().join("second.json");
    let out = run(&["good"], &json);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = read_json(&json);
    assert_eq!(scenario(&report, "good")["component"]["cache"], "rejected");
    assert_eq!(scenario(&report, "good")["status"], "passed");
}
