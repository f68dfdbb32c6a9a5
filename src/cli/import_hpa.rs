//! `tenantsim import-hpa`: a Kubernetes autoscaling/v2 HPA manifest as the
//! equivalent `[autoscaler]` TOML, so users test the HPA they run.

use super::{BadInput, EXIT_OK};
use std::path::PathBuf;
use tenantsim_import::hpa::import_hpa;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  tenantsim import-hpa deploy/hpa.yaml >> scenarios/my-service.toml\n  kubectl get hpa api -o yaml | tenantsim import-hpa -\n\nNotes on what could not be converted exactly go to stderr.\nExit codes: 0 ok, 2 the manifest could not be read or converted."
)]
pub struct ImportHpaArgs {
    /// The manifest (YAML), or - for standard input.
    pub manifest: PathBuf,
}

pub fn run(a: ImportHpaArgs) -> anyhow::Result<i32> {
    let text = if a.manifest.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| BadInput(format!("cannot read standard input: {e}")))?
    } else {
        std::fs::read_to_string(&a.manifest)
            .map_err(|e| BadInput(format!("cannot read {}: {e}", a.manifest.display())))?
    };
    let out = import_hpa(&text).map_err(|e| BadInput(format!("{}: {e}", a.manifest.display())))?;
    for n in &out.notes {
        eprintln!("note: {n}");
    }
    print!("{}", out.toml);
    if !out.toml.ends_with('\n') {
        println!();
    }
    Ok(EXIT_OK)
}
