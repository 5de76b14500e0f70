//! Turning a catalog `dirs` entry into a [`DirGrant`]: the path is made
//! absolute against the catalog's folder and canonicalised (so a grant means
//! the directory the catalog keeper saw), the mode is `ro` unless `rw` is
//! written, and the name defaults to the path's last component.

use std::path::Path;

use super::{DirGrant, DirMode, SCRATCH};

/// A `dirs` entry as written in the catalog.
#[derive(Debug, Clone, Copy)]
pub struct DirDecl<'a> {
    pub path: &'a str,
    pub mode: Option<&'a str>,
    pub name: Option<&'a str>,
}

/// Resolves `decl` against the catalog folder `base`.
pub fn resolve(base: &Path, decl: DirDecl<'_>) -> Result<DirGrant, String> {
    let mode = match decl.mode {
        None | Some("ro") => DirMode::ReadOnly,
        Some("rw") => DirMode::ReadWrite,
        Some(other) => {
            return Err(format!(
                "directory grant `{}` has mode `{other}`; use \"ro\" or \"rw\"",
                decl.path
            ));
        }
    };
    let joined = base.join(decl.path);
    let path = joined.canonicalize().map_err(|e| {
        format!(
            "granted directory `{}` ({}) cannot be opened: {e}; create it or fix the path",
            decl.path,
            joined.display()
        )
    })?;
    if !path.is_dir() {
        return Err(format!(
            "granted directory `{}` ({}) is not a directory",
            decl.path,
            path.display()
        ));
    }
    let name = match decl.name {
        Some(n) => n.to_owned(),
        None => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "root".to_owned()),
    };
    if name.is_empty() || name == SCRATCH || name.contains('/') {
        return Err(format!(
            "directory grant `{}` has the name `{name}`; choose a name that is not empty, not `{SCRATCH}` and has no `/`",
            decl.path
        ));
    }
    Ok(DirGrant { name, path, mode })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl<'a>(path: &'a str, mode: Option<&'a str>, name: Option<&'a str>) -> DirDecl<'a> {
        DirDecl { path, mode, name }
    }

    #[test]
    fn grants_resolve_against_the_catalog_folder() {
        let base = tempfile::tempdir().unwrap();
        std::fs::create_dir(base.path().join("data")).unwrap();
        let g = resolve(base.path(), decl("data", None, None)).unwrap();
        assert_eq!(g.name, "data");
        assert_eq!(g.mode, DirMode::ReadOnly);
        assert_eq!(g.path, base.path().join("data").canonicalize().unwrap());
        let g = resolve(base.path(), decl("data", Some("rw"), Some("out"))).unwrap();
        assert_eq!((g.name.as_str(), g.mode), ("out", DirMode::ReadWrite));
    }

    #[test]
    fn bad_grants_say_what_to_fix() {
        let base = tempfile::tempdir().unwrap();
        let e = resolve(base.path(), decl("missing", None, None)).unwrap_err();
        assert!(e.contains("create it or fix the path"), "{e}");
        let e = resolve(base.path(), decl(".", Some("wx"), None)).unwrap_err();
        assert!(e.contains("use \"ro\" or \"rw\""), "{e}");
        let e = resolve(base.path(), decl(".", None, Some("scratch"))).unwrap_err();
        assert!(e.contains("not `scratch`"), "{e}");
    }
}
