//! Compiled-component cache: Cranelift output stored on disk, keyed by the
//! component's SHA-256 and the engine's compatibility hash, so a second run
//! of the same component loads in about a millisecond instead of compiling.
//!
//! Compiled code is run as it is, so the cache is trusted only as far as
//! its folder is: the folder must belong to the user running rigor and be
//! writable by nobody else (otherwise every load is refused with the fix).
//! Each entry also carries the digests it claims to be for (the component's
//! SHA-256, the engine fingerprint and the SHA-256 of the compiled payload),
//! checked before the payload is loaded, so an entry copied over another's
//! name, truncated or altered is recompiled instead of run. Against the
//! user's own account nothing on disk can be authenticated; that is out of
//! scope (`docs/security.md`).

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::report::model::CacheOutcome;

use super::EngineError;

/// First bytes of every entry: the format of the header below.
const ENTRY_MAGIC: &[u8; 8] = b"RIGORCW1";
/// Magic, component SHA-256, engine fingerprint, payload SHA-256.
const HEADER_LEN: usize = 8 + 32 + 8 + 32;

/// On-disk cache of precompiled components.
#[derive(Debug)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
    compiles: AtomicU64,
    /// The folder check, done once per process.
    checked: OnceLock<Result<(), String>>,
}

impl ComponentCache {
    /// A cache in `dir` (created on first use, mode 0700); `None` disables
    /// caching.
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            compiles: AtomicU64::new(0),
            checked: OnceLock::new(),
        }
    }

    /// Number of components this cache compiled (misses) since it was created.
    pub fn compiles(&self) -> u64 {
        self.compiles.load(Ordering::Relaxed)
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Loads `bytes` (read from `origin`) as a component, from the cache when
    /// possible; returns the component, how the cache served it, and its
    /// SHA-256.
    pub fn load(
        &self,
        engine: &Engine,
        origin: &Path,
        bytes: &[u8],
    ) -> Result<(Component, CacheOutcome, String), EngineError> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let sha = hex(&digest);
        let Some(dir) = &self.dir else {
            return Ok((
                self.compile(engine, origin, bytes)?,
                CacheOutcome::Miss,
                sha,
            ));
        };
        self.checked
            .get_or_init(|| ensure_private_dir(dir))
            .clone()
            .map_err(|reason| EngineError::UnsafeCache {
                dir: dir.clone(),
                reason,
            })?;
        let fingerprint = engine_fingerprint(engine);
        let path = dir.join(format!("{sha}-{}.cwasm", hex(&fingerprint)));
        let mut outcome = CacheOutcome::Miss;
        match read_entry(&path, &digest, &fingerprint) {
            Entry::Absent => {}
            Entry::Rejected => outcome = CacheOutcome::Rejected,
            Entry::Verified(entry) => {
                let payload = &entry[HEADER_LEN..];
                // SAFETY: the payload was written by `Engine::precompile_component`
                // of an engine with the same compatibility hash for exactly these
                // component bytes (both digests checked above), into a folder only
                // this user can write. wasmtime still checks its own header.
                if let Ok(component) = unsafe { Component::deserialize(engine, payload) } {
                    return Ok((component, CacheOutcome::Hit, sha));
                }
                outcome = CacheOutcome::Rejected;
            }
        }
        let serialized = engine
            .precompile_component(bytes)
            .map_err(|e| EngineError::Compile {
                path: origin.to_owned(),
                message: format!("{e:#}"),
            })?;
        self.compiles.fetch_add(1, Ordering::Relaxed);
        // A cache that cannot be written only costs time: load from memory.
        let _ = write_entry(dir, &path, &digest, &fingerprint, &serialized);
        // SAFETY: `serialized` was produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &serialized) }.map_err(|e| {
            EngineError::Compile {
                path: origin.to_owned(),
                message: format!("{e:#}"),
            }
        })?;
        Ok((component, outcome, sha))
    }

    fn compile(
        &self,
        engine: &Engine,
        origin: &Path,
        bytes: &[u8],
    ) -> Result<Component, EngineError> {
        self.compiles.fetch_add(1, Ordering::Relaxed);
        Component::new(engine, bytes).map_err(|e| EngineError::Compile {
            path: origin.to_owned(),
            message: format!("{e:#}"),
        })
    }
}

/// Creates the cache folder (0700) or checks that an existing one belongs to
/// this user and is writable by nobody else; the error says how to fix it.
fn ensure_private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create it: {e}"))?;
    }
    let meta = std::fs::metadata(dir).map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_dir() {
        return Err("it is not a folder; remove it or pass another `--cache-dir`".into());
    }
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!(
            "it belongs to uid {}, not to you (uid {me}), and whoever owns it can replace the compiled code rigor runs; use a folder of your own (`--cache-dir DIR`), take it over (`chown -R {me} {}`), or run with `--no-cache`",
            meta.uid(),
            dir.display()
        ));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "it is writable by other users (mode {mode:o}), who could replace the compiled code rigor runs; fix it with `chmod go-w {}`, or run with `--no-cache`",
            dir.display()
        ));
    }
    Ok(())
}

/// What the cache holds under an entry's name.
enum Entry {
    Absent,
    /// Present but not what its name claims, or damaged.
    Rejected,
    /// The whole entry, header included; the payload starts at [`HEADER_LEN`].
    Verified(Vec<u8>),
}

fn read_entry(path: &Path, component: &[u8; 32], fingerprint: &[u8; 8]) -> Entry {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Entry::Absent;
    };
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if !meta.file_type().is_file() || meta.uid() != me {
        return Entry::Rejected;
    }
    let Ok(data) = std::fs::read(path) else {
        return Entry::Rejected;
    };
    if data.len() < HEADER_LEN || &data[..8] != ENTRY_MAGIC {
        return Entry::Rejected;
    }
    let (header, payload) = data.split_at(HEADER_LEN);
    let claims_component = &header[8..40] == component;
    let claims_engine = &header[40..48] == fingerprint;
    let payload_intact = header[48..80] == Sha256::digest(payload)[..];
    if claims_component && claims_engine && payload_intact {
        Entry::Verified(data)
    } else {
        Entry::Rejected
    }
}

fn write_entry(
    dir: &Path,
    path: &Path,
    component: &[u8; 32],
    fingerprint: &[u8; 8],
    payload: &[u8],
) -> std::io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(ENTRY_MAGIC)?;
    tmp.write_all(component)?;
    tmp.write_all(fingerprint)?;
    tmp.write_all(&Sha256::digest(payload))?;
    tmp.write_all(payload)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Short stable identifier of everything about the engine that affects
/// compiled code (wasmtime version, target, settings).
fn engine_fingerprint(engine: &Engine) -> [u8; 8] {
    // SipHash with fixed zero keys: stable for a given Rust release, and a
    // change only costs one recompilation.
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish().to_be_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const COMPONENT_A: &str = "(component (core module))";
    const COMPONENT_B: &str = r#"(component (import "f" (func)))"#;

    fn component(text: &str) -> Vec<u8> {
        // The engine reads the text format too (wasmtime's `wat` feature).
        text.as_bytes().to_vec()
    }

    fn engine() -> Engine {
        Engine::default()
    }

    #[test]
    fn hit_after_miss_and_a_fresh_folder_is_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("nested/cache");
        let cache = ComponentCache::new(Some(dir.clone()));
        let engine = engine();
        let a = component(COMPONENT_A);
        let (_, first, sha) = cache.load(&engine, Path::new("a.wasm"), &a).unwrap();
        let (_, second, _) = cache.load(&engine, Path::new("a.wasm"), &a).unwrap();
        assert_eq!((first, second), (CacheOutcome::Miss, CacheOutcome::Hit));
        assert_eq!(sha.len(), 64);
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn an_entry_copied_over_another_name_is_rejected_and_recompiled() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let (a, b) = (component(COMPONENT_A), component(COMPONENT_B));
        let cache = ComponentCache::new(Some(dir.path().to_owned()));
        cache.load(&engine, Path::new("a.wasm"), &a).unwrap();
        cache.load(&engine, Path::new("b.wasm"), &b).unwrap();
        let entry = |sha: &str| {
            std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(sha))
                .unwrap()
        };
        let sha_a = hex(&Sha256::digest(&a));
        let sha_b = hex(&Sha256::digest(&b));
        std::fs::copy(entry(&sha_b), entry(&sha_a)).unwrap();

        let fresh = ComponentCache::new(Some(dir.path().to_owned()));
        let (component, outcome, sha) = fresh.load(&engine, Path::new("a.wasm"), &a).unwrap();
        assert_eq!(outcome, CacheOutcome::Rejected);
        assert_eq!(sha, sha_a);
        // What runs is A (B imports a function, A nothing), and the entry
        // is repaired.
        assert_eq!(component.component_type().imports(&engine).count(), 0);
        let (_, again, _) = fresh.load(&engine, Path::new("a.wasm"), &a).unwrap();
        assert_eq!(again, CacheOutcome::Hit);
    }

    #[test]
    fn a_damaged_payload_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let a = component(COMPONENT_A);
        ComponentCache::new(Some(dir.path().to_owned()))
            .load(&engine, Path::new("a.wasm"), &a)
            .unwrap();
        let path = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut data = std::fs::read(&path).unwrap();
        let last = data.len() - 1;
        data[last] ^= 0xff;
        std::fs::write(&path, data).unwrap();
        let (_, outcome, _) = ComponentCache::new(Some(dir.path().to_owned()))
            .load(&engine, Path::new("a.wasm"), &a)
            .unwrap();
        assert_eq!(outcome, CacheOutcome::Rejected);
    }

    #[test]
    fn a_folder_others_can_write_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let cache = ComponentCache::new(Some(dir.path().to_owned()));
        let err = cache
            .load(&engine(), Path::new("a.wasm"), &component(COMPONENT_A))
            .unwrap_err()
            .to_string();
        assert!(err.contains("writable by other users (mode 777)"), "{err}");
        assert!(err.contains("chmod go-w"), "{err}");
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "nothing may be written into an unsafe cache"
        );
    }
}
