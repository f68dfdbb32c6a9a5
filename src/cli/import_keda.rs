//! `tenantsim import-keda`: a KEDA ScaledObject as the
//! equivalent `[autoscaler]` TOML (`policy = "keda"`), so users test the
//! KEDA scaling they run.

use super::{BadInput, EXIT_OK};
use std::path::PathBuf;
use tenantsim_import::keda::import_keda;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  tenantsim import-keda deploy/scaledobject.yaml >> scenarios/my-service.toml\n  kubectl get scaledobject api -o yaml | tenantsim import-keda -\n\nNotes on what could not be converted exactly go to stderr.\nExit codes: 0 ok, 2 the manifest could not be read or converted."
)]
pub struct ImportKedaArgs {
    /// The ScaledObject (YAML), or - for standard input.
    pub manifest: PathBuf,
}

pub fn run(a: ImportKedaArgs) -> anyhow::Result<i32> {
    let text = if a.manifest.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| BadInput(format!("cannot read standard input: {e}")))?
    } else {
        std::fs::read_to_string(&a.manifest)
            .map_err(|e| BadInput(format!("cannot read {}: {e}", a.manifest.display())))?
    };
    let out = import_keda(&text).map_err(|e| BadInput(format!("{}: {e}", a.manifest.display())))?;
    for n in &out.notes {
        eprintln!("note: {n}");
    }
    print!("{}", out.toml);
    if !out.toml.ends_with('\n') {
        println!();
    }
    Ok(EXIT_OK)
}
