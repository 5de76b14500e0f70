//! Compiled-component cache: Cranelift output stored on disk, keyed by the
//! component's SHA-256 and the engine's compatibility hash, so a second run
//! of the same component loads in about a millisecond instead of compiling.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::report::model::CacheOutcome;

use super::EngineError;

/// On-disk cache of precompiled components.
#[derive(Debug)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
    compiles: AtomicU64,
}

impl ComponentCache {
    /// A cache in `dir` (created on first write); `None` disables caching.
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            compiles: AtomicU64::new(0),
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
    /// possible; returns the component, whether it was a hit, and its SHA-256.
    pub fn load(
        &self,
        engine: &Engine,
        origin: &Path,
        bytes: &[u8],
    ) -> Result<(Component, CacheOutcome, String), EngineError> {
        let sha = hex(&Sha256::digest(bytes));
        let Some(dir) = &self.dir else {
            return Ok((
                self.compile(engine, origin, bytes)?,
                CacheOutcome::Miss,
                sha,
            ));
        };
        let path = dir.join(format!("{sha}-{}.cwasm", engine_fingerprint(engine)));
        if path.is_file() {
            // SAFETY: the file was written by `Engine::precompile_component`
            // of an engine with the same compatibility hash (part of the file
            // name) into rigor's own cache directory. wasmtime still checks
            // the header; a damaged or foreign file fails to deserialize and
            // is recompiled below.
            if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
                return Ok((component, CacheOutcome::Hit, sha));
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
        let _ = write_atomically(dir, &path, &serialized);
        // SAFETY: `serialized` was produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &serialized) }.map_err(|e| {
            EngineError::Compile {
                path: origin.to_owned(),
                message: format!("{e:#}"),
            }
        })?;
        Ok((component, CacheOutcome::Miss, sha))
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

fn write_atomically(dir: &Path, path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, data)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Short stable identifier of everything about the engine that affects
/// compiled code (wasmtime version, target, settings).
fn engine_fingerprint(engine: &Engine) -> String {
    // SipHash with fixed zero keys: stable for a given Rust release, and a
    // change only costs one recompilation.
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
