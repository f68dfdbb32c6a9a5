//! What `tenantsim hpa explain` reads of an HPA manifest: the first
//! HorizontalPodAutoscaler, its bounds and behaviors checked as `import-hpa`
//! checks them, and the object as JSON for its metrics.

use super::*;

/// What `tenantsim hpa explain` reads of a manifest: the first
/// HorizontalPodAutoscaler of a stream (YAML or JSON, possibly a
/// `kind: List`), its bounds and behaviors validated as `import-hpa`
/// validates them, and the whole object as JSON (every scalar as the text
/// written) for its metrics.
pub struct ManifestHpa {
    pub min: u32,
    pub max: u32,
    pub scale_up: Behavior,
    pub scale_down: Behavior,
    pub tolerance_up: Option<f64>,
    pub tolerance_down: Option<f64>,
    pub json: serde_json::Value,
}

/// Reads a manifest for `hpa explain`; errors name the YAML path and line.
pub fn read_manifest(text: &str) -> Result<ManifestHpa, String> {
    fn json(n: &Node) -> serde_json::Value {
        match &n.value {
            Value::Null => serde_json::Value::Null,
            Value::Str { text, .. } => serde_json::Value::String(text.clone()),
            Value::Seq(items) => serde_json::Value::Array(items.iter().map(json).collect()),
            Value::Map(entries) => {
                serde_json::Value::Object(entries.iter().map(|(k, v)| (k.clone(), json(v))).collect())
            }
        }
    }
    let docs = yaml::parse_stream(text)?;
    let mut cands: Vec<&Node> = Vec::new();
    for doc in &docs {
        if let (Some(kind), Value::Map(m)) = (kind_of(doc), &doc.value) {
            if kind.ends_with("List") {
                if let Some(Node {
                    value: Value::Seq(items),
                    ..
                }) = field(m, "items")
                {
                    cands.extend(items.iter());
                    continue;
                }
            }
        }
        cands.push(doc);
    }
    let node = cands
        .into_iter()
        .find(|c| kind_of(c) == Some(KIND))
        .ok_or_else(|| format!("no document of kind {KIND} in the input"))?;
    let doc = map_of(node, "")?;
    let spec_node = required(doc, node, "", "spec", "the HPA's spec")?;
    let spec = map_of(spec_node, "spec")?;
    let mut notes = Vec::new();
    let (min, max) = replicas(spec, spec_node, "spec", &mut notes)?;
    let (up, down) = behavior(spec, spec_node, "spec", &mut notes)?;
    Ok(ManifestHpa {
        min: min as u32,
        max: max as u32,
        scale_up: up.behavior,
        scale_down: down.behavior,
        tolerance_up: up.tolerance,
        tolerance_down: down.tolerance,
        json: json(node),
    })
}

/// A Kubernetes quantity (`"500m"`, `"1.5"`, `"2Gi"`) as a number.
pub fn quantity_value(s: &str) -> Option<f64> {
    parse_quantity(s)
}
