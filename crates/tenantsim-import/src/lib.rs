//! Importers (crate `tenantsim-import`, above the model): configuration
//! written for other tools, turned into scenario sections.
//!
//! What it owns: [`hpa`] reads a Kubernetes HorizontalPodAutoscaler
//! manifest (YAML or JSON) and renders the `[autoscaler]` section that
//! behaves the same (`tenantsim import-hpa`); [`keda`] does the same for a
//! KEDA ScaledObject (`tenantsim import-keda`), on the HPA importer's YAML
//! tree and field readers. Invariant: an importer never
//! writes a key the scenario reader would refuse; defaults come from the
//! model (for example `HpaSpec::DEFAULT_TOLERANCE`), never typed here again.

pub mod hpa;
pub mod hpa_explain;
pub mod keda;

/// A converted manifest, from any importer: the TOML text and the notes
/// (things dropped or approximated), one per line on stderr.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub toml: String,
    pub notes: Vec<String>,
}
