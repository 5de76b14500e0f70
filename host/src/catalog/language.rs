//! The language of a scenario source: declared with `language = "..."` or
//! detected from the folder (Cargo.toml, app.py, package.json).

use std::fmt;
use std::path::Path;

use super::Source;

/// The language a scenario is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Language {
    Rust,
    Python,
    Js,
    /// A C folder (`scenario.c`) built with `zig cc` over generated C bindings.
    C,
    /// A Zig folder (`scenario.zig`) built with `zig build-exe` over the C bindings.
    Zig,
    /// A Go module (`go.mod`) built with mainline Go for `wasip1` and adapted.
    Go,
    /// A prebuilt component: no source to build.
    Wasm,
}

impl Language {
    /// Every name accepted in `language = "..."`.
    pub const NAMES: &'static [&'static str] = &["rust", "python", "js", "c", "zig", "go", "wasm"];

    /// Every language built from a source folder, in detection order.
    pub const SOURCES: [Language; 6] = [
        Language::Rust,
        Language::Python,
        Language::Js,
        Language::C,
        Language::Zig,
        Language::Go,
    ];

    pub fn from_name(name: &str) -> Option<Language> {
        Some(match name {
            "rust" => Language::Rust,
            "python" => Language::Python,
            "js" | "javascript" => Language::Js,
            "c" => Language::C,
            "zig" => Language::Zig,
            "go" | "golang" => Language::Go,
            "wasm" => Language::Wasm,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::Js => "js",
            Language::C => "c",
            Language::Zig => "zig",
            Language::Go => "go",
            Language::Wasm => "wasm",
        }
    }

    /// The file whose presence marks a folder as this language.
    pub fn marker(self) -> &'static str {
        match self {
            Language::Rust => "Cargo.toml",
            Language::Python => "app.py",
            Language::Js => "package.json",
            Language::C => "scenario.c",
            Language::Zig => "scenario.zig",
            Language::Go => "go.mod",
            Language::Wasm => "",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Resolves `source` (relative to `base`) into a [`Source`], checking that
/// it exists and holds what its language needs.
pub(super) fn resolve_source(
    base: &Path,
    source: &str,
    declared: Option<Language>,
) -> Result<Source, String> {
    let path = base.join(source);
    if source.ends_with(".wasm") || declared == Some(Language::Wasm) {
        if let Some(lang) = declared.filter(|l| *l != Language::Wasm) {
            return Err(format!(
                "source `{source}` is a `.wasm` component but the language is declared `{lang}`; point `source` at the {lang} folder"
            ));
        }
        // A prebuilt component may legitimately not exist until it is built
        // elsewhere; loading reports a missing file clearly.
        return Ok(Source::Wasm(path));
    }
    if !path.is_dir() {
        return Err(format!(
            "source `{source}` does not exist (looked for the folder `{}`); create it with `rigor new`, or point `source` at a scenario folder or a `.wasm` file",
            path.display()
        ));
    }
    let language = match declared {
        Some(lang) => lang,
        None => Language::SOURCES
            .into_iter()
            .find(|l| path.join(l.marker()).is_file())
            .ok_or_else(|| {
                format!(
                    "cannot tell the language of `{source}`: it has no Cargo.toml (rust), app.py (python), package.json (js), scenario.c (c), scenario.zig (zig) or go.mod (go); add one, or set `language`"
                )
            })?,
    };
    let marker = path.join(language.marker());
    if !marker.is_file() {
        return Err(format!(
            "source `{source}` is declared `{language}` but has no `{}` (looked for `{}`)",
            language.marker(),
            marker.display()
        ));
    }
    Ok(match language {
        Language::Rust => {
            let text = std::fs::read_to_string(&marker)
                .map_err(|e| format!("cannot read `{}`: {e}", marker.display()))?;
            let crate_name = package_name(&text)
                .ok_or_else(|| format!("`{}` has no [package] name", marker.display()))?;
            Source::Rust {
                dir: path,
                crate_name,
            }
        }
        Language::Wasm => unreachable!("handled above"),
        language => Source::Folder {
            language,
            dir: path,
        },
    })
}

fn package_name(cargo_toml: &str) -> Option<String> {
    let value: toml::Table = toml::from_str(cargo_toml).ok()?;
    value
        .get("package")?
        .get("name")?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_language_from_its_marker_file() {
        let dir = tempfile::tempdir().unwrap();
        let make = |name: &str, file: &str, body: &str| {
            std::fs::create_dir_all(dir.path().join(name)).unwrap();
            std::fs::write(dir.path().join(name).join(file), body).unwrap();
        };
        make("r", "Cargo.toml", "[package]\nname = \"scenario-r\"\n");
        make("p", "app.py", "");
        make("j", "package.json", "{}");
        make("c", "scenario.c", "");
        make("z", "scenario.zig", "");
        make("g", "go.mod", "module scenario\n");
        make("x", "notes.txt", "");
        let lang = |s: &str, d| resolve_source(dir.path(), s, d).map(|s| s.language());
        assert_eq!(lang("r", None).unwrap(), Language::Rust);
        assert_eq!(lang("p", None).unwrap(), Language::Python);
        assert_eq!(lang("j", None).unwrap(), Language::Js);
        assert_eq!(lang("c", None).unwrap(), Language::C);
        assert_eq!(lang("z", None).unwrap(), Language::Zig);
        assert_eq!(lang("g", None).unwrap(), Language::Go);
        assert_eq!(lang("c.wasm", None).unwrap(), Language::Wasm);
        assert!(
            lang("x", None)
                .unwrap_err()
                .contains("cannot tell the language")
        );
        assert!(
            lang("missing", None)
                .unwrap_err()
                .contains("does not exist")
        );
        let wrong = lang("p", Some(Language::Js)).unwrap_err();
        assert!(wrong.contains("declared `js`"), "{wrong}");
    }
}
