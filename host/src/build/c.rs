//! C and Zig scenarios: C bindings generated from the contract, compiled
//! with the Zig toolchain (PyPI `ziglang`, which carries clang and a
//! current wasi-libc), so neither language needs a system C toolchain.
//! Zig reads the bindings through `zig translate-c`, whose output is cached
//! under the toolchains folder keyed by the header's content.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::BuildError;
use super::native::NativeBuild;
use super::script::sdk_dir;
use super::toolchain::{Toolchain, install_atomically, pip_install, require, toolchains_dir};
use crate::catalog::Language;

/// PyPI `ziglang`: `zig cc` for C scenarios and `zig build-exe` for Zig.
pub const ZIGLANG_VERSION: &str = "0.17.1";

/// How to get Python with venv, which installs `ziglang` from PyPI.
const INSTALL_HINT: &str = "C and Zig scenarios are compiled with the Zig toolchain, which rigor installs from PyPI (`ziglang`) on first use: install Python 3 with venv and pip (Debian/Ubuntu: `apt-get install python3 python3-venv python3-pip`), or run scripts/setup.sh";

/// The C bindings generator, with the world always named `scenario` so the
/// generated names (`scenario_string_t`, `exports_scenario_run`) do not
/// depend on which world the scenario exports.
pub(super) fn bindings_generator() -> Box<dyn wit_bindgen_core::WorldGenerator> {
    wit_bindgen_c::Opts {
        rename_world: Some("scenario".into()),
        ..Default::default()
    }
    .build()
}

/// The folder `ziglang` is installed in.
fn install_dir() -> PathBuf {
    toolchains_dir().join(format!("ziglang-{ZIGLANG_VERSION}"))
}

/// The `zig` executable inside the virtual environment (its site-packages
/// folder is named after the Python version that created it).
fn zig_binary(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir.join("lib"))
        .ok()?
        .flatten()
        .map(|e| e.path().join("site-packages/ziglang/zig"))
        .find(|p| p.is_file())
}

/// The Zig toolchain, installed on first use.
pub(super) fn toolchain() -> Result<Toolchain, BuildError> {
    let dir = install_dir();
    if !dir.join(".complete").is_file() {
        require("python3", &["--version"], INSTALL_HINT)?;
        install_atomically(&dir, "ziglang", |tmp| {
            pip_install(
                "ziglang",
                tmp,
                &format!("ziglang=={ZIGLANG_VERSION}"),
                None,
                INSTALL_HINT,
            )
        })?;
    }
    let program = zig_binary(&dir).ok_or_else(|| BuildError::ToolchainInstall {
        tool: "ziglang".into(),
        output: format!("no `zig` executable under `{}`", dir.display()),
        hint: "remove that folder and build again to reinstall".into(),
    })?;
    Ok(Toolchain {
        id: format!("ziglang {ZIGLANG_VERSION}"),
        program,
        prefix_args: Vec::new(),
    })
}

/// Whether C or Zig sources export the `vu-scenario` world: through the
/// SDK (`RIGOR_VU_SCENARIO`, `rigor.exportVuScenario`) or by hand.
pub(super) fn exports_vu_scenario(language: Language, sources: &str) -> bool {
    let marker = match language {
        Language::Zig => "exportVuScenario",
        _ => "RIGOR_VU_SCENARIO",
    };
    sources.contains(marker) || sources.contains("exports_scenario_iteration")
}

/// A zig command whose caches live beside the toolchain (wasi-libc is built
/// once per machine, not once per scenario).
fn zig(ctx: &NativeBuild, sub: &str) -> Command {
    let mut cmd = ctx.toolchain.command();
    cmd.arg(sub)
        .env("ZIG_GLOBAL_CACHE_DIR", cache_dir().join("global"))
        .env("ZIG_LOCAL_CACHE_DIR", cache_dir().join("local"));
    cmd
}

fn cache_dir() -> PathBuf {
    toolchains_dir().join(format!("ziglang-{ZIGLANG_VERSION}-cache"))
}

/// Runs a compiler step; its own diagnostics become the error.
fn run(ctx: &NativeBuild, tool: &str, cmd: &mut Command) -> Result<Vec<u8>, BuildError> {
    let out = cmd
        .output()
        .map_err(|e| ctx.failed(tool, format!("cannot start `{tool}`: {e}")))?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    Err(ctx.failed(
        tool,
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .trim()
        .to_owned(),
    ))
}

/// Source files of `dir` (not recursive) with extension `ext`, sorted.
fn sources(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, BuildError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| BuildError::Io {
            path: dir.to_owned(),
            source,
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    Ok(files)
}

/// Compiles the folder and the bindings into a core module that carries
/// its component type.
pub(super) fn compile(ctx: &NativeBuild) -> Result<Vec<u8>, BuildError> {
    let gen_dir = ctx.work.join("gen");
    ctx.contract.generate(bindings_generator(), &gen_dir)?;
    let core = ctx.work.join("scenario.core.wasm");
    let c_sdk = sdk_dir(Language::C);
    let mut cmd;
    match ctx.language {
        Language::C => {
            cmd = zig(ctx, "cc");
            cmd.args([
                "-target",
                "wasm32-wasi",
                "-Oz",
                "-mexec-model=reactor",
                "-std=c11",
                "-Wall",
                "-Wl,--strip-all",
            ])
            .arg("-I")
            .arg(&gen_dir)
            .arg("-I")
            .arg(&c_sdk)
            .arg("-I")
            .arg(ctx.dir)
            .arg("-o")
            .arg(&core)
            .args(sources(ctx.dir, "c")?)
            .args(sources(&c_sdk, "c")?)
            .arg(gen_dir.join("scenario.c"))
            .arg(gen_dir.join("scenario_component_type.o"));
        }
        _ => {
            let bindings = translate_header(ctx, &gen_dir, &c_sdk)?;
            let sdk = sdk_dir(Language::Zig).join("rigor.zig");
            cmd = zig(ctx, "build-exe");
            cmd.args([
                "-target",
                "wasm32-wasi",
                "-mexec-model=reactor",
                "-fno-entry",
                "-O",
                "ReleaseSmall",
                "-fstrip",
                "-lc",
                "--name",
                "scenario",
            ])
            .arg(format!("-femit-bin={}", core.display()))
            // Per-module settings precede their `-M`: the C inputs (the
            // bindings and the C SDK, which the Zig SDK wraps) belong to the
            // root module, the scenario, which imports the SDK, which
            // imports the translated headers as `c`.
            .arg("-I")
            .arg(&gen_dir)
            .arg("-I")
            .arg(&c_sdk)
            .arg(gen_dir.join("scenario.c"))
            .arg(gen_dir.join("scenario_component_type.o"))
            .args(sources(&c_sdk, "c")?)
            .args(["--dep", "rigor"])
            .arg(format!("-Mroot={}", ctx.dir.join("scenario.zig").display()))
            .args(["--dep", "c"])
            .arg(format!("-Mrigor={}", sdk.display()))
            .arg(format!("-Mc={}", bindings.display()));
        }
    }
    let tool = if ctx.language == Language::C {
        "zig cc"
    } else {
        "zig build-exe"
    };
    run(ctx, tool, &mut cmd)?;
    std::fs::read(&core).map_err(ctx.io(&core))
}

/// `zig translate-c` of the generated header and the C SDK's, cached by
/// their content: the first translation builds the translator (minutes), and
/// the headers change only with the contract or the SDK.
fn translate_header(
    ctx: &NativeBuild,
    gen_dir: &Path,
    c_sdk: &Path,
) -> Result<PathBuf, BuildError> {
    let mut hasher = Sha256::new();
    for header in [gen_dir.join("scenario.h"), c_sdk.join("rigor.h")] {
        let text = std::fs::read(&header).map_err(ctx.io(&header))?;
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(&text);
    }
    let hash: String = hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let cached = cache_dir().join("translate-c").join(format!("{hash}.zig"));
    if cached.is_file() {
        return Ok(cached);
    }
    let header = gen_dir.join("bindings.h");
    std::fs::write(&header, "#include \"scenario.h\"\n#include \"rigor.h\"\n")
        .map_err(ctx.io(&header))?;
    let out = run(
        ctx,
        "zig translate-c",
        zig(ctx, "translate-c")
            .args(["-target", "wasm32-wasi", "-lc"])
            .arg("-I")
            .arg(gen_dir)
            .arg("-I")
            .arg(c_sdk)
            .arg(&header),
    )?;
    let parent = cached.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(ctx.io(parent))?;
    // Write then rename: a concurrent build never reads half a file.
    let tmp = cached.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&tmp, out).map_err(ctx.io(&tmp))?;
    std::fs::rename(&tmp, &cached).map_err(ctx.io(&cached))?;
    Ok(cached)
}
