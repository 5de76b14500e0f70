//! `rigor list`: what a catalog holds — name, language, tags, description,
//! services, grants and parameters.

use super::{CatalogArgs, CliError, EXIT_OK};
use rigor::catalog::CatalogScenario;

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
        print!("{}", render(s));
    }
    Ok(EXIT_OK)
}

/// One scenario's block of `rigor list` output.
fn render(s: &CatalogScenario) -> String {
    let mut out = format!("{}  [{}]  {}\n", s.name, s.source.language(), s.description);
    if !s.tags.is_empty() {
        out += &format!("    tags: {}\n", s.tags.join(", "));
    }
    if s.opt_in {
        out += "    opt-in: runs only when named\n";
    }
    if !s.services.is_empty() {
        out += &format!("    services: {}\n", s.services.join(", "));
    }
    let grants = grant_lines(&s.grants);
    out += &format!(
        "    grants: {}\n",
        if grants.is_empty() {
            "none".to_owned()
        } else {
            grants.join(", ")
        }
    );
    for p in &s.params {
        out += &format!(
            "    param {} ({}) = {}  {}\n",
            p.name, p.ty, p.default, p.help
        );
    }
    out
}

fn grant_lines(grants: &rigor::policy::Grants) -> Vec<String> {
    grants.describe()
}
