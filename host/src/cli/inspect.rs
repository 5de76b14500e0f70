//! `rigor inspect FILE.wasm`: what a component is before anyone grants it
//! anything — the world it targets, what its `describe()` says, and exactly
//! which interfaces and functions it imports.

use std::path::PathBuf;

use rigor::engine::{ComponentShape, Engine, WorldKind};
use rigor::probes::Capabilities;
use rigor::vu::ExecutorConfig;

use super::{CliError, EXIT_INVALID, EXIT_OK};

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The component to inspect.
    file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Where compiled components are cached (default: $XDG_CACHE_HOME/rigor).
    #[arg(long, value_name = "DIR", env = "RIGOR_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

/// What `describe()` returned, or why it could not be called.
#[derive(Debug, serde::Serialize)]
struct Described {
    name: String,
    description: String,
    params: Vec<DescribedParam>,
}

#[derive(Debug, serde::Serialize)]
struct DescribedParam {
    name: String,
    default: String,
    description: String,
}

#[derive(Debug, serde::Serialize)]
struct Inspection<'a> {
    file: &'a std::path::Path,
    size_bytes: u64,
    #[serde(flatten)]
    shape: &'a ComponentShape,
    describe: Option<Described>,
    describe_error: Option<String>,
}

pub fn execute(args: InspectArgs) -> Result<u8, CliError> {
    let cache_dir = args
        .cache_dir
        .clone()
        .or_else(super::run::default_cache_dir);
    let engine = Engine::new(cache_dir).map_err(|e| CliError::Failed(e.to_string()))?;
    let shape = engine
        .shape(&args.file)
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    let size_bytes = std::fs::metadata(&args.file).map_or(0, |m| m.len());

    // describe() runs only for components this host supports, in a store
    // that is granted nothing.
    let (describe, describe_error) = if shape.supported {
        match describe(&engine, &args.file, shape.kind) {
            Ok(d) => (Some(d), None),
            Err(e) => (None, Some(e)),
        }
    } else {
        (None, Some(unsupported(&shape)))
    };
    let inspection = Inspection {
        file: &args.file,
        size_bytes,
        shape: &shape,
        describe,
        describe_error,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&inspection).expect("plain data serialises")
        );
    } else {
        print!("{}", render(&inspection));
    }
    Ok(if shape.supported {
        EXIT_OK
    } else {
        EXIT_INVALID
    })
}

fn unsupported(shape: &ComponentShape) -> String {
    match &shape.world {
        Some(world) => format!(
            "this host supports {}/scenario@{}, not {world}",
            rigor::bindings::CONTRACT_PACKAGE,
            rigor::bindings::CONTRACT_VERSION
        ),
        None => format!(
            "not a scenario: a scenario exports `describe` and `run` and imports one version of {}",
            rigor::bindings::CONTRACT_PACKAGE
        ),
    }
}

fn describe(
    engine: &Engine,
    file: &std::path::Path,
    kind: Option<WorldKind>,
) -> Result<Described, String> {
    // A VU component is loaded for one VU: only `describe` is called.
    let one_vu = ExecutorConfig::one_iteration();
    let executor = (kind == Some(WorldKind::VuScenario)).then_some(&one_vu);
    let component = engine.load(file, executor).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let info = runtime
        .block_on(engine.describe(&component, Capabilities::deny_all("inspect")))
        .map_err(|e| e.message)?;
    Ok(Described {
        name: info.name,
        description: info.description,
        params: info
            .params
            .into_iter()
            .map(|p| DescribedParam {
                name: p.name,
                default: p.default_value,
                description: p.description,
            })
            .collect(),
    })
}

fn render(i: &Inspection<'_>) -> String {
    let mut out = format!(
        "component  {} ({:.1} KB)\n",
        i.file.display(),
        i.size_bytes as f64 / 1e3
    );
    out += &format!(
        "world      {}{}\n",
        i.shape.world.as_deref().unwrap_or("(not a scenario)"),
        if i.shape.supported {
            "  (supported by this host)"
        } else {
            "  (NOT supported by this host)"
        }
    );
    match (&i.describe, &i.describe_error) {
        (Some(d), _) => {
            out += &format!("describe   {} — {}\n", d.name, d.description);
            for p in &d.params {
                out += &format!("  param    {} = {}  {}\n", p.name, p.default, p.description);
            }
        }
        (None, Some(e)) => out += &format!("describe   unavailable: {e}\n"),
        (None, None) => {}
    }
    out += &format!("imports    {} interfaces\n", i.shape.imports.len());
    for import in &i.shape.imports {
        out += &format!("  {}\n", import.name);
        if !import.functions.is_empty() {
            out += &format!("      {}\n", import.functions.join(", "));
        }
    }
    out += &format!("exports    {}\n", i.shape.exports.join(", "));
    out
}
