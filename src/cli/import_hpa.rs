//! `tenantsim import-hpa`: a Kubernetes autoscaling/v2 HPA manifest as the
//! equivalent `[autoscaler]` TOML, so users test the HPA they run.

use super::{BadInput, EXIT_OK};
use std::path::{Path, PathBuf};
use tenantsim_import::{hpa::import_hpa, Imported};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  tenantsim import-hpa deploy/hpa.yaml >> scenarios/my-service.toml\n  kubectl get hpa api -o yaml | tenantsim import-hpa -\n\nNotes on what could not be converted exactly go to stderr.\nExit codes: 0 ok, 2 the manifest could not be read or converted."
)]
pub struct ImportHpaArgs {
    /// The manifest (YAML), or - for standard input.
    pub manifest: PathBuf,
}

pub fn run(a: ImportHpaArgs) -> anyhow::Result<i32> {
    print_imported(&a.manifest, import_hpa)
}

/// Every importer's command: read the manifest (a file, or - for standard
/// input), convert it, print the notes to stderr and the TOML to stdout.
/// Read and conversion errors are bad input (exit 2).
pub(super) fn print_imported(manifest: &Path, convert: fn(&str) -> Result<Imported, String>) -> anyhow::Result<i32> {
    let text = if manifest.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| BadInput(format!("cannot read standard input: {e}")))?
    } else {
        std::fs::read_to_string(manifest).map_err(|e| BadInput(format!("cannot read {}: {e}", manifest.display())))?
    };
    let out = convert(&text).map_err(|e| BadInput(format!("{}: {e}", manifest.display())))?;
    for n in &out.notes {
        eprintln!("note: {n}");
    }
    print!("{}", out.toml);
    if !out.toml.ends_with('\n') {
        println!();
    }
    Ok(EXIT_OK)
}
