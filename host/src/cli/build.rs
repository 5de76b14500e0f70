//! `rigor build`: compile the catalog's scenario sources into components.

use super::{CatalogArgs, CliError, EXIT_OK, rust_sources};

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Scenarios to build (default: all with a source folder).
    names: Vec<String>,
}

pub fn execute(args: BuildArgs) -> Result<u8, CliError> {
    let catalog = args.catalog.load()?;
    for name in &args.names {
        if catalog.get(name).is_none() {
            return Err(CliError::Invalid(format!(
                "unknown scenario `{name}` in `{}`",
                catalog.path.display()
            )));
        }
    }
    let selected = catalog
        .scenarios
        .iter()
        .filter(|s| args.names.is_empty() || args.names.contains(&s.name))
        .map(|s| (s.name.as_str(), &s.source));
    let built = rigor::build::build_rust(&rust_sources(selected))
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    for (name, path) in built {
        println!("{name}: {}", path.display());
    }
    Ok(EXIT_OK)
}
