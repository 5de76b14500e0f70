//! What a child runs and where, opened once as descriptors: the program
//! (`O_PATH`) and the working directory (`O_PATH | O_DIRECTORY`). Under the
//! work directory both are resolved by the kernel beneath it, with the fs
//! probe's confinement (`fs::path::open_beneath`: `openat2` with
//! `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`), so `..`, absolute paths and
//! symlinks leading out are refused as `denied`. The spawn then executes the
//! program's descriptor and enters the directory's (see `spawn`), so what
//! was checked is what runs, whatever happens to the names meanwhile.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, OFlags};

use crate::probes::ProbeError;
use crate::probes::fs::FsError;
use crate::probes::fs::path::open_beneath;

/// How a `#!` script is started. The kernel runs a script executed by
/// descriptor as `interpreter /dev/fd/N`, which only works if the
/// descriptor stays open across the exec and which hides the script's own
/// path from it (`$0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptStart {
    /// From the descriptor, which is left open in the child for the
    /// interpreter to read: for programs under the work directory, whose
    /// names the guest controls.
    FromFd,
    /// By its path, as `execve` would: for programs the catalog named
    /// outside the work directory, whose path the guest cannot change, and
    /// whose `$0` matters (pyenv shims, wrapper scripts finding their
    /// files). Binaries are executed from the descriptor either way.
    ByPath,
}

/// A program opened for execution.
#[derive(Debug)]
pub struct Executable {
    fd: OwnedFd,
    /// The path it was opened at: `argv[0]`, messages, and the path a
    /// `ByPath` script is started from.
    path: PathBuf,
    c_path: CString,
    script: ScriptStart,
}

impl Executable {
    /// Opens the program at `path` (absolute or relative to rigor's working
    /// directory), following symlinks as `execve` would: for programs the
    /// catalog names outside the work directory.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let fd = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        let path = std::path::absolute(path)?;
        Self::new(fd, path, ScriptStart::ByPath)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    }

    /// Opens `rel` beneath the work directory `work` (a directory
    /// descriptor of `work_path`); `name` is how the guest spelled it.
    pub fn open_in_work(
        work: &OwnedFd,
        work_path: &Path,
        rel: &Path,
        name: &str,
    ) -> Result<Self, ProbeError> {
        let text = rel.to_str().ok_or_else(|| {
            ProbeError::Invalid(format!("program `{name}`: the path is not UTF-8"))
        })?;
        let fd = open_beneath(work, super::WORK_PLACEHOLDER, text, OFlags::PATH)
            .map_err(|e| confined_error("program", name, e))?;
        Self::new(fd, work_path.join(rel), ScriptStart::FromFd)
            .map_err(|e| ProbeError::Invalid(format!("program `{name}`: {e}")))
    }

    fn new(fd: OwnedFd, path: PathBuf, script: ScriptStart) -> Result<Self, String> {
        let stat = rustix::fs::fstat(&fd).map_err(|e| format!("cannot stat it: {e}"))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(format!("`{}` is not a regular file", path.display()));
        }
        let c_path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| format!("`{}` contains a NUL byte", path.display()))?;
        Ok(Self {
            fd,
            path,
            c_path,
            script,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn c_path(&self) -> &CString {
        &self.c_path
    }

    pub fn script_start(&self) -> ScriptStart {
        self.script
    }

    pub(crate) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Opens the working directory `dir` (placeholders already filled) beneath
/// the work directory: a relative path, or an absolute one inside it.
pub fn open_cwd(work: &OwnedFd, work_path: &Path, dir: &str) -> Result<OwnedFd, ProbeError> {
    let path = Path::new(dir);
    let rel = if path.is_absolute() {
        path.strip_prefix(work_path).map_err(|_| {
            ProbeError::Denied(format!(
                "working directory `{dir}` is outside the work directory; give a path relative to it (or under `{}`)",
                super::WORK_PLACEHOLDER
            ))
        })?
    } else {
        path
    };
    let text = match rel.to_str() {
        Some("") => ".",
        Some(t) => t,
        None => {
            return Err(ProbeError::Invalid(format!(
                "working directory `{dir}`: the path is not UTF-8"
            )));
        }
    };
    open_beneath(
        work,
        super::WORK_PLACEHOLDER,
        text,
        OFlags::PATH | OFlags::DIRECTORY,
    )
    .map_err(|e| confined_error("working directory", dir, e))
}

/// The probe error for a failed confined open of `what` `name`.
fn confined_error(what: &str, name: &str, e: FsError) -> ProbeError {
    match e {
        FsError::Denied { .. } => ProbeError::Denied(format!(
            "{what} `{name}` is refused: {e}; under `{}` only paths that stay inside the work directory are run or entered, and a symlink leading out is not followed",
            super::WORK_PLACEHOLDER
        )),
        FsError::NotFound { .. } => ProbeError::Io(format!(
            "{what} `{name}` does not exist in the work directory; create it first"
        )),
        FsError::Invalid(_) => ProbeError::Invalid(format!("{what} `{name}`: {e}")),
        other => ProbeError::Io(format!("{what} `{name}`: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work() -> (tempfile::TempDir, OwnedFd) {
        let dir = tempfile::tempdir().unwrap();
        let fd = rustix::fs::open(
            dir.path(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        (dir, fd)
    }

    #[test]
    fn programs_in_the_work_directory_must_stay_inside_it() {
        let (dir, fd) = work();
        std::fs::copy("/bin/true", dir.path().join("prog")).unwrap();
        let exe =
            Executable::open_in_work(&fd, dir.path(), Path::new("prog"), "{work}/prog").unwrap();
        assert_eq!(exe.path(), dir.path().join("prog"));
        assert_eq!(exe.script_start(), ScriptStart::FromFd);
        // A relative symlink that stays inside is followed.
        std::os::unix::fs::symlink("prog", dir.path().join("alias")).unwrap();
        Executable::open_in_work(&fd, dir.path(), Path::new("alias"), "{work}/alias").unwrap();
        // One leading out is not, absolute or relative.
        std::os::unix::fs::symlink("/bin/sh", dir.path().join("shell")).unwrap();
        std::os::unix::fs::symlink("../../../../../bin/sh", dir.path().join("up")).unwrap();
        for name in ["shell", "up", "../x"] {
            let err = Executable::open_in_work(&fd, dir.path(), Path::new(name), name).unwrap_err();
            assert!(
                matches!(&err, ProbeError::Denied(m) if m.contains("resolves outside")),
                "{name}: {err}"
            );
        }
        let err = Executable::open_in_work(&fd, dir.path(), Path::new("missing"), "m").unwrap_err();
        assert!(
            matches!(err, ProbeError::Io(ref m) if m.contains("create it first")),
            "{err}"
        );
        std::fs::create_dir(dir.path().join("d")).unwrap();
        let err = Executable::open_in_work(&fd, dir.path(), Path::new("d"), "d").unwrap_err();
        assert!(
            matches!(err, ProbeError::Invalid(ref m) if m.contains("not a regular file")),
            "{err}"
        );
    }

    #[test]
    fn working_directories_must_stay_inside_the_work_directory() {
        let (dir, fd) = work();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("/root", dir.path().join("rootlink")).unwrap();
        let inside = format!("{}/sub", dir.path().display());
        for ok in [
            "sub",
            ".",
            inside.as_str(),
            &dir.path().display().to_string(),
        ] {
            open_cwd(&fd, dir.path(), ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let climbing = format!("{}/../../../../etc", dir.path().display());
        for bad in [
            "../../etc",
            "/etc",
            climbing.as_str(),
            "rootlink",
            "sub/../..",
        ] {
            let err = open_cwd(&fd, dir.path(), bad).unwrap_err();
            assert!(matches!(err, ProbeError::Denied(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn host_programs_are_opened_following_symlinks() {
        let exe = Executable::open(Path::new("/bin/sh")).unwrap();
        assert_eq!(exe.script_start(), ScriptStart::ByPath);
        assert!(Executable::open(Path::new("/nonexistent/x")).is_err());
        assert!(Executable::open(Path::new("/")).is_err());
    }
}
