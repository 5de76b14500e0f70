//! Confined path resolution. Every guest path is resolved by the kernel
//! with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)` relative to the
//! root's directory descriptor: `..` that climbs out, absolute paths and
//! symlinks (absolute, or relative ones that lead outside) all fail with
//! `EXDEV`/`ELOOP`, after resolution, not by string matching. Operations on
//! a final name (rename, unlink, mkdir, symlink) first resolve the parent
//! the same way and then act on the name relative to that descriptor, so a
//! concurrent rename cannot swap the parent for a path outside the root.

use std::os::fd::OwnedFd;

use rustix::fs::{Mode as FileMode, OFlags, ResolveFlags, openat2};
use rustix::io::Errno;

use super::FsError;

/// Longest guest path accepted (bytes); Linux's own PATH_MAX.
pub const MAX_PATH_LEN: usize = 4096;

/// Rejects what is invalid before the kernel sees it. Absolute paths are
/// named here for a clearer message; the kernel would deny them as well.
pub fn check_syntax(root: &str, path: &str) -> Result<(), FsError> {
    if path.is_empty() {
        return Err(FsError::Invalid(format!("empty path in `{root}`")));
    }
    if path.len() > MAX_PATH_LEN {
        return Err(FsError::Invalid(format!(
            "path in `{root}` is {} bytes; the limit is {MAX_PATH_LEN}",
            path.len()
        )));
    }
    if path.contains('\0') {
        return Err(FsError::Invalid(format!(
            "path `{}` in `{root}` contains a NUL byte",
            path.escape_debug()
        )));
    }
    if path.starts_with('/') {
        return Err(FsError::Denied {
            root: root.to_owned(),
            path: path.to_owned(),
            reason: "absolute paths are not allowed; give a path relative to the root".into(),
        });
    }
    Ok(())
}

/// Opens `path` beneath `dir`. `EXDEV` and `ELOOP` mean the resolution
/// tried to leave the root (or looped) and become `denied`.
pub fn open_beneath(
    dir: &OwnedFd,
    root: &str,
    path: &str,
    flags: OFlags,
) -> Result<OwnedFd, FsError> {
    check_syntax(root, path)?;
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
    // openat2 refuses a mode without O_CREAT (EINVAL), unlike openat.
    let mode = if flags.contains(OFlags::CREATE) {
        FileMode::from_raw_mode(0o644)
    } else {
        FileMode::empty()
    };
    loop {
        match openat2(dir, path, flags | OFlags::CLOEXEC, mode, resolve) {
            Ok(fd) => return Ok(fd),
            Err(Errno::INTR) | Err(Errno::AGAIN) => continue,
            Err(e) => return Err(resolution_error(root, path, e)),
        }
    }
}

/// The error for a failed resolution of `path`.
pub fn resolution_error(root: &str, path: &str, e: Errno) -> FsError {
    match e {
        Errno::XDEV => FsError::Denied {
            root: root.to_owned(),
            path: path.to_owned(),
            reason:
                "it resolves outside the root (`..`, an absolute path or a symlink leading out)"
                    .into(),
        },
        Errno::LOOP => FsError::Denied {
            root: root.to_owned(),
            path: path.to_owned(),
            reason: "it goes through a symlink loop or a /proc magic link".into(),
        },
        // Confinement relies on openat2; without it nothing is opened.
        Errno::NOSYS => FsError::Invalid(format!(
            "cannot open `{path}` in `{root}`: this kernel has no openat2 (Linux 5.6 or later is needed for confined file access)"
        )),
        other => FsError::from_errno(root, path, "open", other),
    }
}

/// Splits `path` into its parent (`.` when none) and a final name that is
/// neither empty, `.` nor `..`.
pub fn split_parent<'a>(root: &str, path: &'a str) -> Result<(&'a str, &'a str), FsError> {
    check_syntax(root, path)?;
    let trimmed = path.trim_end_matches('/');
    let (parent, name) = match trimmed.rsplit_once('/') {
        Some((p, n)) => (if p.is_empty() { "." } else { p }, n),
        None => (".", trimmed),
    };
    if name.is_empty() || name == "." || name == ".." {
        return Err(FsError::Invalid(format!(
            "`{path}` in `{root}` does not end in a file name"
        )));
    }
    Ok((parent, name))
}

/// Opens the parent directory of `path` beneath `dir` (an `O_PATH`
/// descriptor) and returns it with the final name.
pub fn parent_beneath<'a>(
    dir: &OwnedFd,
    root: &str,
    path: &'a str,
) -> Result<(OwnedFd, &'a str), FsError> {
    let (parent, name) = split_parent(root, path)?;
    let fd = open_beneath(dir, root, parent, OFlags::PATH | OFlags::DIRECTORY)?;
    Ok((fd, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_parent_names_the_last_component() {
        assert_eq!(split_parent("r", "a").unwrap(), (".", "a"));
        assert_eq!(split_parent("r", "a/b/c").unwrap(), ("a/b", "c"));
        assert_eq!(split_parent("r", "a/b/").unwrap(), ("a", "b"));
        assert!(matches!(split_parent("r", ".."), Err(FsError::Invalid(_))));
        assert!(matches!(split_parent("r", "a/."), Err(FsError::Invalid(_))));
        assert!(matches!(
            split_parent("r", "/etc/passwd"),
            Err(FsError::Denied { .. })
        ));
        assert!(matches!(split_parent("r", ""), Err(FsError::Invalid(_))));
        assert!(matches!(
            split_parent("r", "a\0b"),
            Err(FsError::Invalid(_))
        ));
    }
}
