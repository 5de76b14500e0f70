//! Timed file operations on a root. Each function is blocking (call it from
//! a blocking thread) and times only its system calls: buffers are prepared
//! before the clock starts. A `write` is timed from `open` to `close`,
//! including the `fsync` when asked for, because that is what "writing a
//! file" costs an application.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Instant;

use rustix::fs::{AtFlags, FileType, OFlags};
use rustix::io::Errno;

use super::path::{open_beneath, parent_beneath};
use super::{FsError, Root};

/// Largest file `read` returns (bytes): bounds host and guest memory.
pub const MAX_READ: u64 = 64 * 1024 * 1024;
/// Largest `fill` size for one `write` (bytes).
pub const MAX_FILL: u64 = 1024 * 1024 * 1024;
/// Chunk written repeatedly for a `fill`.
const FILL_CHUNK: usize = 1024 * 1024;
/// Most entries one `list` returns; the rest are counted, not returned.
pub const MAX_LIST: usize = 10_000;

/// What to write.
#[derive(Debug, Clone)]
pub enum Content {
    Bytes(Vec<u8>),
    /// This many bytes of a fixed pattern.
    Fill(u64),
}

impl Content {
    pub fn len(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::Fill(n) => *n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A result and the time its system calls took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed<T> {
    pub value: T,
    pub ns: u64,
}

fn elapsed_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn retry<T>(mut f: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// Writes all of `buf` at the current position.
fn write_all(fd: impl AsFd, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        let n = retry(|| rustix::io::write(fd.as_fd(), buf))?;
        if n == 0 {
            return Err(Errno::NOSPC);
        }
        buf = &buf[n..];
    }
    Ok(())
}

fn write_content(fd: &OwnedFd, content: &Content, chunk: &[u8]) -> Result<(), Errno> {
    match content {
        Content::Bytes(b) => write_all(fd, b),
        Content::Fill(n) => {
            let mut left = *n;
            while left > 0 {
                let take = left.min(chunk.len() as u64) as usize;
                write_all(fd, &chunk[..take])?;
                left -= take as u64;
            }
            Ok(())
        }
    }
}

/// The pattern a `fill` writes: printable, so a kept scratch file is readable.
pub fn fill_pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

fn write_with(
    root: &Root,
    path: &str,
    content: &Content,
    fsync: bool,
    flags: OFlags,
    op: &'static str,
) -> Result<Timed<u64>, FsError> {
    root.check_writable(path)?;
    if content.len() > MAX_FILL {
        return Err(FsError::Invalid(format!(
            "{op} of {} bytes to `{path}` exceeds the limit of {MAX_FILL} bytes per call",
            content.len()
        )));
    }
    let chunk = match content {
        Content::Fill(n) => fill_pattern((*n).min(FILL_CHUNK as u64) as usize),
        Content::Bytes(_) => Vec::new(),
    };
    let err = |e| FsError::from_errno(&root.name, path, op, e);
    let start = Instant::now();
    let fd = open_beneath(root.fd(), &root.name, path, OFlags::WRONLY | flags)?;
    write_content(&fd, content, &chunk).map_err(err)?;
    if fsync {
        retry(|| rustix::fs::fsync(&fd)).map_err(err)?;
    }
    drop(fd);
    Ok(Timed {
        value: content.len(),
        ns: elapsed_ns(start),
    })
}

/// Creates or truncates `path` and writes `content`; `fsync` before close.
pub fn write(
    root: &Root,
    path: &str,
    content: &Content,
    fsync: bool,
) -> Result<Timed<u64>, FsError> {
    write_with(
        root,
        path,
        content,
        fsync,
        OFlags::CREATE | OFlags::TRUNC,
        "writing",
    )
}

/// Appends `content` to `path` (created when missing).
pub fn append(
    root: &Root,
    path: &str,
    content: &Content,
    fsync: bool,
) -> Result<Timed<u64>, FsError> {
    write_with(
        root,
        path,
        content,
        fsync,
        OFlags::CREATE | OFlags::APPEND,
        "appending to",
    )
}

/// Reads the whole of `path` (at most [`MAX_READ`] bytes).
pub fn read(root: &Root, path: &str) -> Result<Timed<Vec<u8>>, FsError> {
    let err = |e| FsError::from_errno(&root.name, path, "reading", e);
    // Sized before the clock starts so the buffer allocation is not timed.
    let probe = open_beneath(root.fd(), &root.name, path, OFlags::RDONLY)?;
    let size = rustix::fs::fstat(&probe).map_err(err)?.st_size.max(0) as u64;
    drop(probe);
    if size > MAX_READ {
        return Err(FsError::Invalid(format!(
            "`{path}` in `{}` is {size} bytes; `read` returns at most {MAX_READ} bytes (use run-io-load for large files)",
            root.name
        )));
    }
    let mut buf = vec![0u8; size as usize + 1];
    let start = Instant::now();
    let fd = open_beneath(root.fd(), &root.name, path, OFlags::RDONLY)?;
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            break;
        }
        let n = retry(|| rustix::io::read(&fd, &mut buf[filled..])).map_err(err)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    drop(fd);
    let ns = elapsed_ns(start);
    if filled as u64 > MAX_READ {
        return Err(FsError::Invalid(format!(
            "`{path}` in `{}` grew past {MAX_READ} bytes while being read",
            root.name
        )));
    }
    buf.truncate(filled);
    Ok(Timed { value: buf, ns })
}

/// Flushes `path` to stable storage.
pub fn fsync(root: &Root, path: &str) -> Result<Timed<()>, FsError> {
    let err = |e| FsError::from_errno(&root.name, path, "syncing", e);
    let start = Instant::now();
    let fd = open_beneath(root.fd(), &root.name, path, OFlags::RDONLY)?;
    retry(|| rustix::fs::fsync(&fd)).map_err(err)?;
    drop(fd);
    Ok(Timed {
        value: (),
        ns: elapsed_ns(start),
    })
}

/// Renames `from` to `to` (both in this root; `to` is replaced).
pub fn rename(root: &Root, from: &str, to: &str) -> Result<Timed<()>, FsError> {
    root.check_writable(from)?;
    let start = Instant::now();
    let (from_dir, from_name) = parent_beneath(root.fd(), &root.name, from)?;
    let (to_dir, to_name) = parent_beneath(root.fd(), &root.name, to)?;
    retry(|| rustix::fs::renameat(&from_dir, from_name, &to_dir, to_name))
        .map_err(|e| FsError::from_errno(&root.name, from, "renaming", e))?;
    Ok(Timed {
        value: (),
        ns: elapsed_ns(start),
    })
}

/// Deletes a file, a symlink (not its target) or an empty directory.
pub fn delete(root: &Root, path: &str) -> Result<Timed<()>, FsError> {
    root.check_writable(path)?;
    let start = Instant::now();
    let (dir, name) = parent_beneath(root.fd(), &root.name, path)?;
    let result = match retry(|| rustix::fs::unlinkat(&dir, name, AtFlags::empty())) {
        Err(Errno::ISDIR) => retry(|| rustix::fs::unlinkat(&dir, name, AtFlags::REMOVEDIR)),
        other => other,
    };
    result.map_err(|e| FsError::from_errno(&root.name, path, "deleting", e))?;
    Ok(Timed {
        value: (),
        ns: elapsed_ns(start),
    })
}

/// Creates the directory `path` and any missing parents.
pub fn mkdir(root: &Root, path: &str) -> Result<(), FsError> {
    root.check_writable(path)?;
    let mut prefix = String::new();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        let (dir, name) = parent_beneath(root.fd(), &root.name, &prefix)?;
        match retry(|| rustix::fs::mkdirat(&dir, name, rustix::fs::Mode::from_raw_mode(0o755))) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(FsError::from_errno(&root.name, path, "creating", e)),
        }
    }
    // Confirms the result is a directory beneath the root (an existing
    // symlink component is resolved here, confined).
    open_beneath(
        root.fd(),
        &root.name,
        path,
        OFlags::PATH | OFlags::DIRECTORY,
    )
    .map(drop)
}

/// Creates a symlink `link` whose content is `target`. Any target text is
/// accepted: following the link later is confined like every other path.
pub fn symlink(root: &Root, target: &str, link: &str) -> Result<(), FsError> {
    root.check_writable(link)?;
    let (dir, name) = parent_beneath(root.fd(), &root.name, link)?;
    retry(|| rustix::fs::symlinkat(target, &dir, name))
        .map_err(|e| FsError::from_errno(&root.name, link, "creating the symlink", e))
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
    Other,
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
    /// Size in bytes (of the link itself for a symlink).
    pub size: u64,
}

/// A listing, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub entries: Vec<Entry>,
    /// Entries beyond [`MAX_LIST`], counted but not returned.
    pub omitted: u64,
}

/// Lists the directory `path` (`.` for the root).
pub fn list(root: &Root, path: &str) -> Result<Timed<Listing>, FsError> {
    let err = |e| FsError::from_errno(&root.name, path, "listing", e);
    let start = Instant::now();
    let fd = open_beneath(
        root.fd(),
        &root.name,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY,
    )?;
    let mut entries = Vec::new();
    let mut omitted = 0u64;
    let dir = rustix::fs::Dir::read_from(&fd).map_err(err)?;
    for entry in dir {
        let entry = entry.map_err(err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "." || name == ".." {
            continue;
        }
        if entries.len() >= MAX_LIST {
            omitted += 1;
            continue;
        }
        let stat = rustix::fs::statat(&fd, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW);
        let (kind, size) = match stat {
            Ok(st) => {
                let kind = match FileType::from_raw_mode(st.st_mode) {
                    FileType::RegularFile => EntryKind::File,
                    FileType::Directory => EntryKind::Directory,
                    FileType::Symlink => EntryKind::Symlink,
                    _ => EntryKind::Other,
                };
                (kind, st.st_size.max(0) as u64)
            }
            // Removed between readdir and stat: skip it.
            Err(Errno::NOENT) => continue,
            Err(e) => return Err(err(e)),
        };
        entries.push(Entry { name, kind, size });
    }
    let ns = elapsed_ns(start);
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Timed {
        value: Listing { entries, omitted },
        ns,
    })
}

/// Whether a resolution error means "outside the root".
pub fn is_escape(e: &FsError) -> bool {
    matches!(e, FsError::Denied { .. })
}

#[cfg(test)]
mod tests {
    use super::super::{DirMode, Scratch};
    use super::*;
    use std::sync::Arc;

    fn scratch() -> (tempfile::TempDir, Arc<Scratch>, Root) {
        let base = tempfile::tempdir().unwrap();
        let s = Arc::new(Scratch::new("t", base.path(), false));
        let root = Root::scratch(&s).unwrap();
        (base, s, root)
    }

    #[test]
    fn write_read_append_rename_delete_list_round_trip() {
        let (_b, _s, root) = scratch();
        let w = write(&root, "a.txt", &Content::Bytes(b"hello".to_vec()), true).unwrap();
        assert_eq!(w.value, 5);
        assert!(w.ns > 0);
        append(&root, "a.txt", &Content::Fill(3), false).unwrap();
        assert_eq!(read(&root, "a.txt").unwrap().value, b"helloabc");
        fsync(&root, "a.txt").unwrap();
        mkdir(&root, "d/e").unwrap();
        rename(&root, "a.txt", "d/e/b.txt").unwrap();
        let l = list(&root, "d/e").unwrap().value;
        assert_eq!(
            l.entries,
            vec![Entry {
                name: "b.txt".into(),
                kind: EntryKind::File,
                size: 8
            }]
        );
        delete(&root, "d/e/b.txt").unwrap();
        delete(&root, "d/e").unwrap();
        assert_eq!(list(&root, "d").unwrap().value.entries.len(), 0);
        assert!(matches!(
            read(&root, "d/e/b.txt"),
            Err(FsError::NotFound { .. })
        ));
    }

    #[test]
    fn escapes_are_denied_and_touch_nothing_outside() {
        let (base, _s, root) = scratch();
        let outside = base.path().join("outside.txt");
        std::fs::write(&outside, "secret").unwrap();
        let rel = "../outside.txt";
        assert!(is_escape(&read(&root, rel).unwrap_err()));
        assert!(is_escape(&read(&root, "/etc/passwd").unwrap_err()));
        let c = Content::Bytes(b"x".to_vec());
        assert!(is_escape(
            &write(&root, "../created.txt", &c, false).unwrap_err()
        ));
        assert!(!base.path().join("created.txt").exists());
        // A symlink to `/`, and one to the parent, created by the guest.
        symlink(&root, "/", "to-root").unwrap();
        symlink(&root, "..", "up").unwrap();
        assert!(is_escape(&read(&root, "to-root/etc/passwd").unwrap_err()));
        assert!(is_escape(&read(&root, "up/outside.txt").unwrap_err()));
        assert!(is_escape(
            &write(&root, "up/created.txt", &c, false).unwrap_err()
        ));
        assert!(is_escape(&list(&root, "to-root").unwrap_err()));
        assert!(is_escape(&mkdir(&root, "up/newdir").unwrap_err()));
        assert!(is_escape(
            &rename(&root, "up/outside.txt", "stolen").unwrap_err()
        ));
        assert!(is_escape(&delete(&root, "up/outside.txt").unwrap_err()));
        assert!(!base.path().join("created.txt").exists());
        assert!(!base.path().join("newdir").exists());
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "secret");
        // A symlink that stays inside is followed.
        write(&root, "in.txt", &c, false).unwrap();
        symlink(&root, "in.txt", "alias").unwrap();
        assert_eq!(read(&root, "alias").unwrap().value, b"x");
        // Deleting a link removes the link, never its target.
        delete(&root, "to-root").unwrap();
        assert!(std::path::Path::new("/etc").exists());
    }

    #[test]
    fn read_only_roots_refuse_writes_with_the_grant_to_change() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "data").unwrap();
        let root = Root::open("data", dir.path(), DirMode::ReadOnly).unwrap();
        assert_eq!(read(&root, "f").unwrap().value, b"data");
        let e = write(&root, "f", &Content::Fill(1), false).unwrap_err();
        assert!(e.to_string().contains("mode = \"rw\""), "{e}");
        assert!(matches!(delete(&root, "f"), Err(FsError::Denied { .. })));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("f")).unwrap(),
            "data"
        );
    }

    #[test]
    fn a_full_device_is_a_disk_full_error() {
        let root = Root::open("dev", std::path::Path::new("/dev"), DirMode::ReadWrite).unwrap();
        let e = write(&root, "full", &Content::Fill(4096), false).unwrap_err();
        assert!(matches!(e, FsError::NoSpace { .. }), "{e}");
        assert!(e.to_string().contains("disk full"), "{e}");
    }

    #[test]
    fn oversized_requests_are_invalid() {
        let (_b, _s, root) = scratch();
        let e = write(&root, "big", &Content::Fill(MAX_FILL + 1), false).unwrap_err();
        assert!(matches!(e, FsError::Invalid(_)));
    }
}
