//! The filesystem probe: a per-scenario scratch directory, catalog-granted
//! directories (read-only or read-write), confined path resolution, timed
//! file operations, record-set dumps and a native concurrent I/O load.
//!
//! Every blocking call runs on tokio's blocking pool (see `binding.rs`); the
//! timed section of each operation holds nothing but the system calls.

mod binding;
pub mod dump;
pub mod grant;
pub mod load;
pub mod ops;
pub mod path;

pub use binding::{FsBinding, FsView};

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustix::fs::OFlags;
use rustix::io::Errno;

use crate::policy::Policy;
use crate::probes::ProbeError;

/// The name of the root every scenario has: its own scratch directory.
pub const SCRATCH: &str = "scratch";

/// Whether a granted directory may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirMode {
    ReadOnly,
    ReadWrite,
}

impl DirMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DirMode::ReadOnly => "ro",
            DirMode::ReadWrite => "rw",
        }
    }
}

/// A directory the catalog grants to a scenario, under a name the guest uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    /// What the guest passes to `dir.open` (`data`).
    pub name: String,
    /// Absolute host path (resolved against the catalog's folder).
    pub path: PathBuf,
    pub mode: DirMode,
}

/// Why a file operation failed. Messages say what, where (root and path)
/// and what to do.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("`{path}` in `{root}` is denied: {reason}")]
    Denied {
        root: String,
        path: String,
        reason: String,
    },
    #[error("not found: `{path}` in `{root}` does not exist ({op})")]
    NotFound {
        root: String,
        path: String,
        op: &'static str,
    },
    #[error(
        "permission: {op} `{path}` in `{root}` was refused by the system ({errno}); check the directory's permissions or mount options"
    )]
    Permission {
        root: String,
        path: String,
        op: &'static str,
        errno: Errno,
    },
    #[error(
        "disk full: no space left while {op} `{path}` in `{root}` ({errno}); free space on that filesystem or write less"
    )]
    NoSpace {
        root: String,
        path: String,
        op: &'static str,
        errno: Errno,
    },
    #[error("{op} `{path}` in `{root}` failed: {errno}")]
    Os {
        root: String,
        path: String,
        op: &'static str,
        errno: Errno,
    },
    #[error("{0}")]
    Invalid(String),
}

impl FsError {
    /// Classifies an OS error of `op` on `path`.
    pub fn from_errno(root: &str, path: &str, op: &'static str, errno: Errno) -> Self {
        let (root, path) = (root.to_owned(), path.to_owned());
        match errno {
            Errno::NOENT => FsError::NotFound { root, path, op },
            Errno::ACCESS | Errno::PERM | Errno::ROFS => FsError::Permission {
                root,
                path,
                op,
                errno,
            },
            Errno::NOSPC | Errno::DQUOT | Errno::FBIG => FsError::NoSpace {
                root,
                path,
                op,
                errno,
            },
            _ => FsError::Os {
                root,
                path,
                op,
                errno,
            },
        }
    }
}

impl From<FsError> for ProbeError {
    fn from(e: FsError) -> Self {
        match e {
            FsError::Denied { .. } => ProbeError::Denied(e.to_string()),
            FsError::Invalid(_) => ProbeError::Invalid(e.to_string()),
            _ => ProbeError::Io(e.to_string()),
        }
    }
}

/// The scenario's scratch directory, created on first use under the system
/// temp dir and removed (with everything in it) when the scenario's store
/// drops, unless it is kept (`rigor run --keep-scratch`).
#[derive(Debug)]
pub struct Scratch {
    scenario: String,
    base: PathBuf,
    keep: bool,
    dir: Mutex<Option<PathBuf>>,
}

impl Scratch {
    pub fn new(scenario: &str, base: &Path, keep: bool) -> Self {
        Self {
            scenario: scenario.to_owned(),
            base: base.to_owned(),
            keep,
            dir: Mutex::new(None),
        }
    }

    /// The directory, created now if it does not exist yet.
    pub fn path(&self) -> Result<PathBuf, FsError> {
        let mut dir = self.dir.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = &*dir {
            return Ok(d.clone());
        }
        let created = tempfile::Builder::new()
            .prefix(&format!("rigor-{}-", self.scenario))
            .tempdir_in(&self.base)
            .map_err(|e| {
                FsError::Invalid(format!(
                    "cannot create the scratch directory under `{}`: {e}; set TMPDIR to a writable directory",
                    self.base.display()
                ))
            })?
            .keep();
        *dir = Some(created.clone());
        Ok(created)
    }

    /// The directory if it was created.
    pub fn created(&self) -> Option<PathBuf> {
        self.dir.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn keep(&self) -> bool {
        self.keep
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Some(dir) = self.dir.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
            // Nothing to report to at this point; a leftover temp dir is
            // harmless and the OS cleans the temp dir eventually.
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Most roots a scenario may hold open at once: each holds a directory
/// descriptor, and a guest opening roots in a loop must not exhaust the
/// host's descriptors.
pub const MAX_OPEN_ROOTS: usize = 256;

/// Per-scenario filesystem state: the scratch directory and the policy that
/// lists granted directories.
#[derive(Debug, Clone)]
pub struct FsCtx {
    pub scratch: Arc<Scratch>,
    pub policy: Policy,
    /// Roots the guest holds now.
    pub open_roots: Arc<std::sync::atomic::AtomicUsize>,
}

impl FsCtx {
    /// A context whose scratch directory lives under the system temp dir.
    pub fn new(scenario: &str, policy: Policy, keep_scratch: bool) -> Self {
        Self {
            scratch: Arc::new(Scratch::new(scenario, &std::env::temp_dir(), keep_scratch)),
            policy,
            open_roots: Arc::default(),
        }
    }
}

/// An open root: the scratch directory or a granted one, held as a
/// directory descriptor that every path is resolved beneath.
#[derive(Debug, Clone)]
pub struct Root {
    pub name: String,
    pub mode: DirMode,
    pub host_path: PathBuf,
    fd: Arc<OwnedFd>,
    /// Keeps the scratch directory alive while a handle to it exists.
    _scratch: Option<Arc<Scratch>>,
}

impl Root {
    /// Opens the directory `host_path` as the root `name`.
    pub fn open(name: &str, host_path: &Path, mode: DirMode) -> Result<Self, FsError> {
        let fd = rustix::fs::open(
            host_path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| {
            FsError::Invalid(format!(
                "cannot open directory `{}` for `{name}`: {e}; check the path in the catalog's `dirs` grant",
                host_path.display()
            ))
        })?;
        Ok(Self {
            name: name.to_owned(),
            mode,
            host_path: host_path.to_owned(),
            fd: Arc::new(fd),
            _scratch: None,
        })
    }

    /// Opens the scenario's scratch directory (creating it on first use).
    pub fn scratch(scratch: &Arc<Scratch>) -> Result<Self, FsError> {
        let path = scratch.path()?;
        let mut root = Self::open(SCRATCH, &path, DirMode::ReadWrite)?;
        root._scratch = Some(scratch.clone());
        Ok(root)
    }

    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Fails with `denied` when the root is read-only.
    pub fn check_writable(&self, path: &str) -> Result<(), FsError> {
        if self.mode == DirMode::ReadWrite {
            return Ok(());
        }
        Err(FsError::Denied {
            root: self.name.clone(),
            path: path.to_owned(),
            reason: format!(
                "`{}` is granted read-only; grant it with `mode = \"rw\"` in the catalog's `dirs` to write",
                self.name
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_is_created_lazily_and_removed_on_drop() {
        let base = tempfile::tempdir().unwrap();
        let scratch = Arc::new(Scratch::new("t", base.path(), false));
        assert!(scratch.created().is_none());
        let root = Root::scratch(&scratch).unwrap();
        let dir = scratch.created().unwrap();
        assert!(dir.is_dir());
        assert!(dir.starts_with(base.path()));
        drop(scratch);
        // The open root keeps it alive.
        assert!(dir.is_dir());
        drop(root);
        assert!(!dir.exists());
    }

    #[test]
    fn kept_scratch_survives() {
        let base = tempfile::tempdir().unwrap();
        let scratch = Arc::new(Scratch::new("t", base.path(), true));
        let dir = scratch.path().unwrap();
        drop(scratch);
        assert!(dir.is_dir());
    }

    #[test]
    fn errno_classification() {
        let e = FsError::from_errno("scratch", "a", "write", Errno::NOSPC);
        assert!(e.to_string().starts_with("disk full"), "{e}");
        let e = FsError::from_errno("data", "a", "write", Errno::ROFS);
        assert!(e.to_string().starts_with("permission"), "{e}");
        let e = FsError::from_errno("scratch", "a", "read", Errno::NOENT);
        assert!(e.to_string().starts_with("not found"), "{e}");
        assert!(matches!(ProbeError::from(e), ProbeError::Io(_)));
    }
}
