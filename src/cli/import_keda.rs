//! `tenantsim import-keda`: a KEDA ScaledObject as the
//! equivalent `[autoscaler]` TOML (`policy = "keda"`), so users test the
//! KEDA scaling they run.

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
    super::import_hpa::print_imported(&a.manifest, import_keda)
}
