//! A malformed catalog is one clear error with its file, line and column,
//! and exit code 2, for every command that reads the catalog.

use rigor_tests::run_rigor;

/// Writes `text` as `catalog.toml` (plus `extra` files) in a fresh folder and
/// runs `rigor list` and `rigor run` on it; both must fail with exit 2 and
/// the single line `error: <catalog>:<line>:<col>: ...` containing `needle`.
fn assert_catalog_error(
    text: &str,
    extra: &[(&str, &str)],
    at: (&str, usize, usize),
    needle: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.toml"), text).unwrap();
    for (path, body) in extra {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    let file = dir.path().join(at.0);
    let location = format!("{}:{}:{}: ", file.display(), at.1, at.2);
    for command in ["list", "run", "build"] {
        let run = run_rigor(&[command, "--catalog", dir.path().to_str().unwrap()]);
        assert_eq!(run.code, 2, "{command}\n{}", run.describe());
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "{command}: one line\n{}", run.describe());
        assert!(
            lines[0].starts_with(&format!("error: {location}")),
            "{command}: expected `{location}`\n{}",
            run.describe()
        );
        assert!(
            lines[0].contains(needle),
            "{command}: expected `{needle}`\n{}",
            run.describe()
        );
    }
}

const HEAD: &str = "[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\n";

#[test]
fn unknown_field() {
    assert_catalog_error(
        &format!("{HEAD}colour = \"blue\"\n"),
        &[],
        ("catalog.toml", 4, 1),
        "unknown field `colour`",
    );
}

#[test]
fn wrong_parameter_type() {
    assert_catalog_error(
        &format!("{HEAD}[scenario.params]\nwindow = {{ default = 5, type = \"duration\" }}\n"),
        &[],
        ("catalog.toml", 5, 10),
        "parameter `window` of `a`: the default `5` is of type int, but the parameter is declared `duration`",
    );
    assert_catalog_error(
        &format!("{HEAD}[scenario.params]\nsize = {{ default = \"huge\", type = \"size\" }}\n"),
        &[],
        ("catalog.toml", 5, 8),
        "invalid size `huge`",
    );
    assert_catalog_error(
        &format!("{HEAD}[scenario.params]\nn = {{ default = 1, type = \"integer\" }}\n"),
        &[],
        ("catalog.toml", 5, 5),
        "unknown type `integer`",
    );
}

#[test]
fn missing_source() {
    assert_catalog_error(
        "[[scenario]]\nname = \"a\"\nsource = \"not-here\"\n",
        &[],
        ("catalog.toml", 3, 10),
        "source `not-here` does not exist",
    );
    assert_catalog_error(
        "[[scenario]]\nname = \"a\"\nsource = \"empty\"\n",
        &[("empty/notes.txt", "")],
        ("catalog.toml", 3, 10),
        "cannot tell the language of `empty`",
    );
    assert_catalog_error(
        "[[scenario]]\nname = \"a\"\nsource = \"py\"\nlanguage = \"js\"\n",
        &[("py/app.py", "")],
        ("catalog.toml", 3, 10),
        "declared `js` but has no `package.json`",
    );
}

#[test]
fn duplicate_name_also_across_included_files() {
    assert_catalog_error(
        &format!("{HEAD}{HEAD}"),
        &[],
        ("catalog.toml", 5, 8),
        "duplicate scenario name `a`",
    );
    assert_catalog_error(
        &format!("include = [\"team\"]\n{HEAD}"),
        &[("team/catalog.toml", HEAD)],
        ("team/catalog.toml", 2, 8),
        "duplicate scenario name `a`",
    );
}

#[test]
fn grant_for_an_unknown_target() {
    assert_catalog_error(
        &format!("{HEAD}grants = {{ redis = [\"default\", \"sessions\"] }}\n"),
        &[],
        ("catalog.toml", 4, 32),
        "unknown redis target `sessions`",
    );
}

#[test]
fn unknown_service_language_and_bad_include() {
    assert_catalog_error(
        &format!("{HEAD}services = [\"postgres\"]\n"),
        &[],
        ("catalog.toml", 4, 13),
        "unknown service `postgres`",
    );
    assert_catalog_error(
        "[[scenario]]\nname = \"a\"\nsource = \"a\"\nlanguage = \"cobol\"\n",
        &[],
        ("catalog.toml", 4, 12),
        "unknown language `cobol`",
    );
    assert_catalog_error(
        "include = [\"nowhere.toml\"]\n",
        &[],
        ("catalog.toml", 1, 12),
        "cannot read included catalog",
    );
    assert_catalog_error(
        "include = [\"b.toml\"]\n",
        &[("b.toml", "include = [\"catalog.toml\"]\n")],
        ("b.toml", 1, 12),
        "forms a cycle",
    );
}

#[test]
fn included_catalogs_join_the_list_with_languages_and_services() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("catalog.toml"),
        "include = [\"team\"]\n[targets.redis]\ncache = \"redis://127.0.0.1:6390\"\n[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\ntags = [\"x\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("team/p")).unwrap();
    std::fs::write(dir.path().join("team/p/app.py"), "").unwrap();
    std::fs::write(
        dir.path().join("team/catalog.toml"),
        "[[scenario]]\nname = \"b\"\nsource = \"p\"\nservices = [\"redis\"]\ngrants = { redis = [\"cache\"] }\n[scenario.params]\nsizes = { default = [\"100B\", \"1KiB\"], help = \"value sizes\" }\nwindow = { default = \"5s\", type = \"duration\", help = \"w\" }\n",
    )
    .unwrap();
    let run = run_rigor(&["list", "--catalog", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert!(run.stdout.contains("a  [wasm]"), "{}", run.describe());
    assert!(run.stdout.contains("b  [python]"), "{}", run.describe());
    assert!(run.stdout.contains("services: redis"), "{}", run.describe());
    assert!(
        run.stdout.contains("grants: redis:cache"),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("param sizes (list) = 100B,1KiB"),
        "{}",
        run.describe()
    );
    let tagged = run_rigor(&[
        "list",
        "--tag",
        "x",
        "--catalog",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        tagged.stdout.contains("a  [wasm]") && !tagged.stdout.contains("b  [python]"),
        "{}",
        tagged.describe()
    );

    // `--param` is checked against the declared type.
    let bad = run_rigor(&[
        "run",
        "b",
        "--catalog",
        dir.path().to_str().unwrap(),
        "--param",
        "b:window=soon",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.describe());
    assert!(
        bad.stderr.contains("expected a duration"),
        "{}",
        bad.describe()
    );
}
