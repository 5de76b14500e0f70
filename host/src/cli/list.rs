//! `rigor list`: what a catalog holds.

use super::{CatalogArgs, CliError, EXIT_OK};
use rigor::catalog::Source;

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Only scenarios with this tag.
    #[arg(long)]
    tag: Option<String>,
}

pub fn execute(args: ListArgs) -> Result<u8, CliError> {
    let catalog = args.catalog.load()?;
    for s in &catalog.scenarios {
        if args.tag.as_ref().is_some_and(|t| !s.tags.contains(t)) {
            continue;
        }
        let lang = match &s.source {
            Source::Rust { .. } => "rust",
            Source::Wasm(_) => "wasm",
        };
        let grants: Vec<String> = s
            .grants
            .redis
            .iter()
            .map(|t| format!("redis:{t}"))
            .collect();
        println!("{}  [{}]  {}", s.name, lang, s.description);
        if !s.tags.is_empty() {
            println!("    tags: {}", s.tags.join(", "));
        }
        println!(
            "    grants: {}",
            if grants.is_empty() {
                "none".to_owned()
            } else {
                grants.join(", ")
            }
        );
        for p in &s.params {
            println!(
                "    param {} ({}) = {}  {}",
                p.name, p.ty, p.default, p.help
            );
        }
    }
    Ok(EXIT_OK)
}
