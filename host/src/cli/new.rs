//! `rigor new --lang rust|python|js|c|zig|go NAME`: a scenario folder from a template
//! that builds and passes as is, optionally added to a catalog. The
//! templates implement the same logic (SET then GET `ops` keys, the `set`
//! and `get` histograms, one check, one threshold), so their reports have
//! the same shape.

use std::path::{Component, Path, PathBuf};

use rigor::catalog::{Catalog, Language};

use super::{CliError, EXIT_OK};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Lang {
    Rust,
    Python,
    Js,
    C,
    Zig,
    Go,
}

impl Lang {
    fn language(self) -> Language {
        match self {
            Lang::Rust => Language::Rust,
            Lang::Python => Language::Python,
            Lang::Js => Language::Js,
            Lang::C => Language::C,
            Lang::Zig => Language::Zig,
            Lang::Go => Language::Go,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The scenario's language.
    #[arg(long, value_enum)]
    lang: Lang,
    /// Scenario name: lowercase letters, digits and `-`.
    name: String,
    /// Folder to create (default: NAME beside the catalog, or ./NAME).
    #[arg(long, value_name = "D")]
    dir: Option<PathBuf>,
    /// Append an entry for the scenario to this catalog (folder or file).
    #[arg(long, value_name = "DIR")]
    catalog: Option<PathBuf>,
}

/// One template file: where it goes in the new folder and its text.
type TemplateFile = (&'static str, &'static str);

const README: &str = include_str!("../../templates/README.md");
const GITIGNORE: &str = include_str!("../../templates/gitignore");
const RUST: &[TemplateFile] = &[
    (
        "Cargo.toml",
        include_str!("../../templates/rust/Cargo.toml"),
    ),
    ("src/lib.rs", include_str!("../../templates/rust/lib.rs")),
];
const PYTHON: &[TemplateFile] = &[
    ("app.py", include_str!("../../templates/python/app.py")),
    (
        "pyproject.toml",
        include_str!("../../templates/python/pyproject.toml"),
    ),
];
const JS: &[TemplateFile] = &[
    (
        "scenario.js",
        include_str!("../../templates/js/scenario.js"),
    ),
    (
        "package.json",
        include_str!("../../templates/js/package.json"),
    ),
];
const C: &[TemplateFile] = &[("scenario.c", include_str!("../../templates/c/scenario.c"))];
const ZIG: &[TemplateFile] = &[(
    "scenario.zig",
    include_str!("../../templates/zig/scenario.zig"),
)];

const GO: &[TemplateFile] = &[
    ("go.mod", include_str!("../../templates/go/go.mod")),
    (
        "scenario.go",
        include_str!("../../templates/go/scenario.go"),
    ),
];

pub fn execute(args: NewArgs) -> Result<u8, CliError> {
    let invalid = CliError::Invalid;
    if !is_valid_name(&args.name) {
        return Err(invalid(format!(
            "invalid scenario name `{}`: use lowercase letters, digits and `-`, starting with a letter",
            args.name
        )));
    }
    let catalog_file = args.catalog.as_ref().map(|c| {
        if c.is_dir() {
            c.join("catalog.toml")
        } else {
            c.clone()
        }
    });
    if let Some(file) = &catalog_file {
        let catalog = Catalog::load(file).map_err(|e| invalid(e.to_string()))?;
        if catalog.get(&args.name).is_some() {
            return Err(invalid(format!(
                "`{}` already has a scenario named `{}`",
                file.display(),
                args.name
            )));
        }
    }
    let dir = match (&args.dir, &catalog_file) {
        (Some(d), _) => d.clone(),
        (None, Some(file)) => file.parent().unwrap_or(Path::new(".")).join(&args.name),
        (None, None) => PathBuf::from(&args.name),
    };
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(invalid(format!(
            "`{}` already exists and is not empty; choose another --dir",
            dir.display()
        )));
    }

    let language = args.lang.language();
    let files = scaffold(&args.name, language, &dir)?;
    for (rel, text) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| write_error(parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| write_error(&path, e))?;
    }
    println!("created {} ({language}) in {}", args.name, dir.display());

    if let Some(file) = &catalog_file {
        append_entry(file, &args.name, language, &dir)?;
        println!("added `{}` to {}", args.name, file.display());
        println!(
            "next: rigor build --catalog {0} {1} && rigor run --catalog {0} {1}",
            args.catalog.as_deref().unwrap_or(file).display(),
            args.name
        );
    } else {
        println!(
            "next: add it to a catalog (see docs/catalog.md), or run `rigor new` with --catalog"
        );
    }
    Ok(EXIT_OK)
}

fn write_error(path: &Path, e: std::io::Error) -> CliError {
    CliError::Failed(format!("cannot write `{}`: {e}", path.display()))
}

fn is_valid_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The files of a new scenario folder, with the placeholders filled in.
fn scaffold(name: &str, language: Language, dir: &Path) -> Result<Vec<(String, String)>, CliError> {
    let (templates, output) = match language {
        Language::Rust => (
            RUST,
            format!(
                "target/wasm/wasm32-wasip2/release/scenario_{}.wasm",
                name.replace('-', "_")
            ),
        ),
        Language::Python => (PYTHON, "target/scenario.wasm".to_owned()),
        Language::Js => (JS, "target/scenario.wasm".to_owned()),
        Language::C => (C, "target/scenario.wasm".to_owned()),
        Language::Zig => (ZIG, "target/scenario.wasm".to_owned()),
        Language::Go => (GO, "target/scenario.wasm".to_owned()),
        Language::Wasm => unreachable!("no template for prebuilt components"),
    };
    let sdk_path = if matches!(language, Language::Rust | Language::Go) {
        let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk");
        // Go's SDK is its own module in `guest-sdk/go`.
        let sdk = if language == Language::Go {
            sdk.join("go")
        } else {
            sdk
        };
        let sdk = sdk.canonicalize().unwrap_or(sdk);
        // A relative path keeps a folder inside this repository movable with it.
        relative_to(&sdk, &absolute(dir)).unwrap_or(sdk)
    } else {
        PathBuf::new()
    };
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{language}}", language.as_str())
            .replace("{{output}}", &format!("{}/{output}", dir.display()))
            .replace("{{sdk_path}}", &sdk_path.to_string_lossy())
    };
    let mut files: Vec<(String, String)> = templates
        .iter()
        .map(|(rel, text)| ((*rel).to_owned(), fill(text)))
        .collect();
    files.push(("README.md".into(), fill(README)));
    files.push((".gitignore".into(), GITIGNORE.to_owned()));
    Ok(files)
}

fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    // Lexical normalisation: the folder does not exist yet.
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `target` relative to `base` when they share a leading part other than `/`.
fn relative_to(target: &Path, base: &Path) -> Option<PathBuf> {
    let t: Vec<_> = target.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common <= 1 {
        return None;
    }
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for part in &t[common..] {
        rel.push(part);
    }
    Some(rel)
}

/// Appends the scenario's entry to the catalog file, then loads the catalog
/// again so a problem is reported now rather than at the next run.
fn append_entry(file: &Path, name: &str, language: Language, dir: &Path) -> Result<(), CliError> {
    let base = absolute(file.parent().unwrap_or(Path::new(".")));
    let dir = absolute(dir);
    let source = relative_to(&dir, &base).unwrap_or(dir);
    let entry = format!(
        r#"
[[scenario]]
name = "{name}"
description = "SET then GET round trips against the default Redis target ({language})"
tags = ["{language}", "redis"]
source = "{source}"
services = ["redis"]
grants = {{ redis = ["default"] }}

[scenario.params]
ops = {{ default = 100, help = "timed SETs and GETs" }}
key-prefix = {{ default = "rigor:{name}:", help = "prefix of every key written (removed at the end)" }}
"#,
        source = source.display()
    );
    let mut text = std::fs::read_to_string(file)
        .map_err(|e| CliError::Invalid(format!("cannot read `{}`: {e}", file.display())))?;
    if !text.ends_with('\n') && !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&entry);
    Catalog::parse(file, &text).map_err(|e| {
        CliError::Invalid(format!(
            "the new entry would make the catalog invalid, so it was not added: {e}"
        ))
    })?;
    std::fs::write(file, text).map_err(|e| write_error(file, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_between_folders() {
        assert_eq!(
            relative_to(Path::new("/r/guest-sdk"), Path::new("/r/scenarios/x")).unwrap(),
            PathBuf::from("../../guest-sdk")
        );
        assert_eq!(
            relative_to(Path::new("/r/scenarios/x"), Path::new("/r/scenarios")).unwrap(),
            PathBuf::from("x")
        );
        assert!(relative_to(Path::new("/a/b"), Path::new("/c/d")).is_none());
    }

    #[test]
    fn every_template_is_filled_in() {
        for language in [
            Language::Rust,
            Language::Python,
            Language::Js,
            Language::C,
            Language::Zig,
            Language::Go,
        ] {
            let files = scaffold("demo-x", language, Path::new("/tmp/demo-x")).unwrap();
            for (rel, text) in files {
                assert!(!text.contains("{{"), "{language} {rel} keeps a placeholder");
            }
        }
    }
}
