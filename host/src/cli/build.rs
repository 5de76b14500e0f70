//! `rigor build`: compile the catalog's scenario sources (Rust, Python,
//! JavaScript) into components, skipping what is up to date.

use super::{CatalogArgs, CliError, EXIT_OK, rust_sources};
use rigor::build::Outcome;

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Scenarios to build (default: every scenario with a source folder).
    names: Vec<String>,
}

pub fn execute(args: BuildArgs) -> Result<u8, CliError> {
    let catalog = args.catalog.load()?;
    for name in &args.names {
        if catalog.get(name).is_none() {
            let known: Vec<&str> = catalog.scenarios.iter().map(|s| s.name.as_str()).collect();
            return Err(CliError::Invalid(format!(
                "unknown scenario `{name}` in `{}` (scenarios: {})",
                catalog.path.display(),
                known.join(", ")
            )));
        }
    }
    let selected = catalog
        .scenarios
        .iter()
        .filter(|s| args.names.is_empty() || args.names.contains(&s.name))
        .map(|s| (s.name.as_str(), &s.source));
    let built = rigor::build::build_sources_with_outcome(&rust_sources(selected))
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    for (name, (path, outcome)) in built {
        let note = match outcome {
            Outcome::Built => "",
            Outcome::UpToDate => "  (up to date)",
        };
        println!("{name}: {}{note}", path.display());
    }
    Ok(EXIT_OK)
}
