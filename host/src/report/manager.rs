//! The report manager: owns every report file of a run. Before anything
//! runs it checks each target (a file path whose folder exists and is
//! writable, no file named twice, also through symlinks) and opens the
//! NDJSON streams; while the run goes it streams the events and rewrites the
//! JSON report atomically after each scenario (so any interruption, SIGKILL
//! included, leaves a valid partial report of what finished); at the end it
//! writes every format from the finished report.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::model::RunReport;
use super::ndjson::NdjsonWriter;
use super::{html, json, junit, markdown, write_atomically};
use crate::events::{RunEvent, RunObserver};

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Markdown,
    Junit,
    Html,
    /// The event stream, appended to as the run goes.
    Ndjson,
}

impl Format {
    fn what(self) -> &'static str {
        match self {
            Format::Json => "JSON report",
            Format::Markdown => "Markdown report",
            Format::Junit => "JUnit report",
            Format::Html => "HTML report",
            Format::Ndjson => "NDJSON stream",
        }
    }

    fn render(self, report: &RunReport) -> Option<String> {
        match self {
            Format::Json => Some(json::render(report)),
            Format::Markdown => Some(markdown::render(report)),
            Format::Junit => Some(junit::render(report)),
            Format::Html => Some(html::render(report)),
            Format::Ndjson => None,
        }
    }
}

/// One report to write: its format, its path (`-` is stdout, except for
/// NDJSON) and how the user asked for it (e.g. `--json`), to name it in
/// errors.
#[derive(Debug, Clone)]
pub struct Target {
    pub flag: String,
    pub format: Format,
    pub path: PathBuf,
}

impl Target {
    pub fn new(flag: impl Into<String>, format: Format, path: impl Into<PathBuf>) -> Self {
        Self {
            flag: flag.into(),
            format,
            path: path.into(),
        }
    }

    fn is_stdout(&self) -> bool {
        self.format != Format::Ndjson && self.path.as_os_str() == "-"
    }
}

/// A report target that cannot be written, found before the run.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{flag}: the path is empty; give the path of a file to write the report to")]
    Empty { flag: String },
    #[error("{flag} `{path}` is a directory; give the path of a file to write the report to")]
    IsDirectory { flag: String, path: PathBuf },
    #[error(
        "{flag} `{path}`: the folder `{folder}` does not exist; create it first or give another path"
    )]
    MissingFolder {
        flag: String,
        path: PathBuf,
        folder: PathBuf,
    },
    #[error("{flag} `{path}`: `{folder}` is not a folder; give another path")]
    NotAFolder {
        flag: String,
        path: PathBuf,
        folder: PathBuf,
    },
    #[error("{flag} `{path}`: cannot write in `{folder}`: {source}; give a writable location")]
    Unwritable {
        flag: String,
        path: PathBuf,
        folder: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{flag} `{path}` is the same file as {other_flag} `{other_path}`; give each report its own file"
    )]
    SameFile {
        flag: String,
        path: PathBuf,
        other_flag: String,
        other_path: PathBuf,
    },
    #[error("{flag} `{path}`: cannot create it: {source}")]
    Create {
        flag: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A report that could not be written during or after the run.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} `{path}`: {source}")]
pub struct WriteError {
    /// What was being done, e.g. `write the JSON report to`.
    action: String,
    path: PathBuf,
    source: std::io::Error,
}

impl WriteError {
    fn new(action: impl Into<String>, path: &Path, source: std::io::Error) -> Self {
        Self {
            action: action.into(),
            path: path.to_owned(),
            source,
        }
    }
}

/// Owns the report files of one run; observes the run's events.
pub struct ReportManager {
    /// The rendered reports (JSON, Markdown, JUnit, HTML), in the order given.
    files: Vec<Target>,
    streams: Vec<(Target, NdjsonWriter)>,
    /// Appended to at the end (the GitHub step summary is shared by every step).
    step_summary: Option<PathBuf>,
    /// The first write that failed; the others are still attempted.
    error: Option<WriteError>,
}

impl ReportManager {
    /// Checks every target and opens the NDJSON streams; nothing is created
    /// or truncated unless every target is valid. `step_summary` gets the
    /// Markdown report appended at the end.
    pub fn open(targets: Vec<Target>, step_summary: Option<PathBuf>) -> Result<Self, TargetError> {
        let mut seen: Vec<(&Target, Identity)> = Vec::new();
        for target in targets.iter().filter(|t| !t.is_stdout()) {
            let identity = check(target)?;
            if let Some((other, _)) = seen.iter().find(|(_, id)| id.same_as(&identity)) {
                return Err(TargetError::SameFile {
                    flag: target.flag.clone(),
                    path: target.path.clone(),
                    other_flag: other.flag.clone(),
                    other_path: other.path.clone(),
                });
            }
            seen.push((target, identity));
        }
        let mut files = Vec::new();
        let mut streams = Vec::new();
        for target in targets {
            if target.format == Format::Ndjson {
                let writer =
                    NdjsonWriter::create(&target.path).map_err(|source| TargetError::Create {
                        flag: target.flag.clone(),
                        path: target.path.clone(),
                        source,
                    })?;
                streams.push((target, writer));
            } else {
                files.push(target);
            }
        }
        Ok(Self {
            files,
            streams,
            step_summary,
            error: None,
        })
    }

    /// Writes every report from the finished `report` (to `stdout` for `-`),
    /// ends the streams and appends the step summary. Every report is
    /// attempted; the first failure (during the run or now) is returned.
    pub fn finish(mut self, report: &RunReport, stdout: &mut dyn Write) -> Result<(), WriteError> {
        for (target, w) in &mut self.streams {
            if let Err(e) = w.run_finished(report) {
                let e = WriteError::new("write to", &target.path, e);
                self.error.get_or_insert(e);
            }
        }
        for target in &self.files {
            let Some(text) = target.format.render(report) else {
                continue;
            };
            let written = if target.is_stdout() {
                stdout
                    .write_all(text.as_bytes())
                    .and_then(|()| stdout.flush())
            } else {
                write_atomically(&target.path, &text)
            };
            if let Err(e) = written {
                let action = format!("write the {} to", target.format.what());
                self.error
                    .get_or_insert(WriteError::new(action, &target.path, e));
            }
        }
        if let Some(path) = &self.step_summary
            && let Err(e) = append(path, &markdown::render(report))
        {
            let e = WriteError::new("append to the GitHub step summary", path, e);
            self.error.get_or_insert(e);
        }
        self.error.map_or(Ok(()), Err)
    }

    /// Rewrites the JSON report file(s) with the run so far.
    fn rewrite_json(&mut self, run: &RunReport) {
        for target in &self.files {
            if target.format != Format::Json || target.is_stdout() {
                continue;
            }
            if let Err(e) = write_atomically(&target.path, &json::render(run)) {
                let action = format!("write the {} to", target.format.what());
                self.error
                    .get_or_insert(WriteError::new(action, &target.path, e));
            }
        }
    }

    fn stream(&mut self, mut write: impl FnMut(&mut NdjsonWriter) -> std::io::Result<()>) {
        for (target, w) in &mut self.streams {
            if let Err(e) = write(w) {
                let e = WriteError::new("write to", &target.path, e);
                self.error.get_or_insert(e);
            }
        }
    }
}

impl RunObserver for ReportManager {
    fn event(&mut self, event: &RunEvent<'_>) {
        match event {
            RunEvent::RunStarted { total, run } => {
                self.stream(|w| w.run_started(*total));
                // A valid (empty, partial) report from the start: a stale
                // one from an earlier run is never taken for this one.
                self.rewrite_json(run);
            }
            RunEvent::Started { name, index, total } => {
                self.stream(|w| w.scenario_started(name, *index, *total));
            }
            RunEvent::Progress { name, progress } => self.stream(|w| w.progress(name, progress)),
            RunEvent::Finished { report, run } => {
                self.stream(|w| w.scenario_finished(report));
                self.rewrite_json(run);
            }
        }
    }
}

/// What a target path refers to, to find two targets naming one file.
struct Identity {
    /// The absolute path with every symlink resolved (for a file that does
    /// not exist yet: its folder's, joined with its name).
    canonical: PathBuf,
    /// Device and inode of an existing file (catches hard links).
    inode: Option<(u64, u64)>,
}

impl Identity {
    fn same_as(&self, other: &Identity) -> bool {
        self.canonical == other.canonical || (self.inode.is_some() && self.inode == other.inode)
    }
}

/// Checks that `target` names a file rigor can write: not a directory, in an
/// existing folder where a file can be created (reports are written as a
/// temporary file then renamed, so the folder must be writable).
fn check(target: &Target) -> Result<Identity, TargetError> {
    use std::os::unix::fs::MetadataExt as _;

    let flag = || target.flag.clone();
    let path = &target.path;
    if path.as_os_str().is_empty() {
        return Err(TargetError::Empty { flag: flag() });
    }
    if path.is_dir() || path.as_os_str().as_encoded_bytes().ends_with(b"/") {
        return Err(TargetError::IsDirectory {
            flag: flag(),
            path: path.clone(),
        });
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match std::fs::metadata(folder) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TargetError::MissingFolder {
                flag: flag(),
                path: path.clone(),
                folder: folder.to_owned(),
            });
        }
        Ok(m) if !m.is_dir() => {
            return Err(TargetError::NotAFolder {
                flag: flag(),
                path: path.clone(),
                folder: folder.to_owned(),
            });
        }
        _ => {}
    }
    let unwritable = |source| TargetError::Unwritable {
        flag: flag(),
        path: path.clone(),
        folder: folder.to_owned(),
        source,
    };
    // Creating (and at once removing) a file is the only reliable test:
    // permissions, read-only mounts and ACLs all answer here.
    let probe = folder.join(format!(".rigor-check-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(unwritable)?;
    let _ = std::fs::remove_file(&probe);
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| {
        let folder = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_owned());
        folder.join(path.file_name().unwrap_or_default())
    });
    let inode = std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
    Ok(Identity { canonical, inode })
}

/// Appends `text` to `path`.
fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::ScenarioReport;

    fn open(targets: &[(&str, Format, &Path)]) -> Result<ReportManager, TargetError> {
        let targets = targets
            .iter()
            .map(|(flag, format, path)| Target::new(*flag, *format, *path))
            .collect();
        ReportManager::open(targets, None)
    }

    #[test]
    fn a_directory_a_missing_folder_and_a_file_as_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = open(&[("--json", Format::Json, dir.path())]).err().unwrap();
        assert!(matches!(e, TargetError::IsDirectory { .. }), "{e}");
        assert!(e.to_string().starts_with("--json `"), "{e}");

        let missing = dir.path().join("nope/r.json");
        let e = open(&[("--junit", Format::Junit, &missing)]).err().unwrap();
        assert!(matches!(e, TargetError::MissingFolder { .. }), "{e}");
        assert!(e.to_string().contains("does not exist"), "{e}");

        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let e = open(&[("--html", Format::Html, &file.join("r.html"))])
            .err()
            .unwrap();
        assert!(matches!(e, TargetError::NotAFolder { .. }), "{e}");

        // Nothing was left behind by the checks.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }

    #[test]
    fn one_file_for_two_formats_is_refused_also_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.out");
        let e = open(&[
            ("--json", Format::Json, &a),
            ("--markdown", Format::Markdown, &a),
        ])
        .err()
        .unwrap();
        assert!(matches!(e, TargetError::SameFile { .. }), "{e}");
        assert!(e.to_string().starts_with("--markdown `"), "{e}");
        assert!(e.to_string().contains("--json"), "{e}");

        std::fs::write(&a, "").unwrap();
        let link = dir.path().join("link.out");
        std::os::unix::fs::symlink(&a, &link).unwrap();
        let e = open(&[
            ("--json", Format::Json, &a),
            ("--out ndjson=", Format::Ndjson, &link),
        ])
        .err()
        .unwrap();
        assert!(matches!(e, TargetError::SameFile { .. }), "{e}");
        // Refused before the stream was opened: nothing was truncated or written.
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "");

        // Stdout twice is not a file.
        let dash = Path::new("-");
        assert!(
            open(&[
                ("--json", Format::Json, dash),
                ("--junit", Format::Junit, dash),
            ])
            .is_ok()
        );
    }

    #[test]
    fn the_json_report_is_rewritten_after_each_scenario_and_written_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let mut manager = open(&[("--json", Format::Json, &path)]).unwrap();
        assert!(!path.exists(), "nothing is written before the run starts");
        let mut run = RunReport::just_started();
        let scenarios = vec![ScenarioReport::skipped(
            "first",
            "first.wasm",
            Default::default(),
            "r".into(),
        )];
        manager.event(&RunEvent::RunStarted {
            total: 1,
            run: &run,
        });
        let on_disk: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(on_disk["partial"], true);
        assert_eq!(on_disk["scenarios"].as_array().unwrap().len(), 0);

        run.scenarios = scenarios;
        manager.event(&RunEvent::Finished {
            report: &run.scenarios[0],
            run: &run,
        });
        let on_disk: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(on_disk["partial"], true);
        assert_eq!(on_disk["scenarios"][0]["name"], run.scenarios[0].name);

        run.partial = false;
        let mut stdout = Vec::new();
        manager.finish(&run, &mut stdout).unwrap();
        let on_disk: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(on_disk["partial"], false);
        assert!(stdout.is_empty());
    }
}
