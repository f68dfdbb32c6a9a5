//! A JSON Schema (draft 2020-12) validator for the keywords
//! `docs/summary.schema.json` uses, as a test helper: `type`, `enum`,
//! `const`, `properties`, `required`, `additionalProperties`,
//! `propertyNames`, `items`, `minItems`, `maxItems`, `minimum` and local
//! `$ref`s (`#/$defs/...`); `$schema`, `$defs`, `title`, `description` and
//! `$comment` are annotations. Loading a schema that uses any other
//! keyword panics, so the schema cannot grow a rule this validator would
//! silently skip. (Why not the `jsonschema` crate: with default features
//! off it still adds 29 crates to the build, 80 s cold; see
//! docs/testing.md.)

use serde_json::Value;
use std::path::Path;

const ANNOTATIONS: [&str; 5] = ["$schema", "$defs", "title", "description", "$comment"];
const ASSERTIONS: [&str; 12] = [
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "$ref",
];

pub struct Schema {
    root: Value,
}

impl Schema {
    pub fn from_value(root: Value) -> Schema {
        check_keywords(&root, "#");
        Schema { root }
    }

    pub fn load(path: &Path) -> Schema {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Schema::from_value(v)
    }

    /// The violations of `v`, each as "JSON pointer: what is wrong"; empty
    /// when it is valid.
    pub fn errors(&self, v: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.check(&self.root, v, "", &mut out);
        out
    }

    fn resolve(&self, reference: &str) -> &Value {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("$ref {reference}: only local references are supported"));
        self.root
            .pointer(pointer)
            .unwrap_or_else(|| panic!("$ref {reference} does not resolve"))
    }

    fn check(&self, schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
        let Some(s) = schema.as_object() else {
            // `true` accepts anything, `false` nothing.
            if schema == &Value::Bool(false) {
                out.push(format!("{at}: not allowed here"));
            }
            return;
        };
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            self.check(self.resolve(r), v, at, out);
        }
        if let Some(t) = s.get("type") {
            let allowed: Vec<&str> = match t {
                Value::String(one) => vec![one.as_str()],
                Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                _ => panic!("{at}: `type` must be a string or a list"),
            };
            if !allowed.iter().any(|t| has_type(v, t)) {
                out.push(format!("{at}: {} is not of type {}", short(v), allowed.join(" or ")));
                return;
            }
        }
        if let Some(options) = s.get("enum").and_then(Value::as_array) {
            if !options.contains(v) {
                out.push(format!("{at}: {} is not one of the allowed values", short(v)));
            }
        }
        if let Some(c) = s.get("const") {
            if c != v {
                out.push(format!("{at}: {} is not {c}", short(v)));
            }
        }
        if let (Some(min), Some(x)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64()) {
            if x < min {
                out.push(format!("{at}: {x} is below the minimum {min}"));
            }
        }
        if let Some(items) = v.as_array() {
            let len = items.len() as u64;
            if let Some(min) = s.get("minItems").and_then(Value::as_u64) {
                if len < min {
                    out.push(format!("{at}: {len} items, at least {min} required"));
                }
            }
            if let Some(max) = s.get("maxItems").and_then(Value::as_u64) {
                if len > max {
                    out.push(format!("{at}: {len} items, at most {max} allowed"));
                }
            }
            if let Some(item) = s.get("items") {
                for (i, x) in items.iter().enumerate() {
                    self.check(item, x, &format!("{at}/{i}"), out);
                }
            }
        }
        if let Some(fields) = v.as_object() {
            let props = s.get("properties").and_then(Value::as_object);
            if let Some(required) = s.get("required").and_then(Value::as_array) {
                for r in required.iter().filter_map(Value::as_str) {
                    if !fields.contains_key(r) {
                        out.push(format!("{at}: required property `{r}` is missing"));
                    }
                }
            }
            for (k, x) in fields {
                let here = format!("{at}/{k}");
                if let Some(names) = s.get("propertyNames") {
                    self.check(names, &Value::String(k.clone()), &format!("{here} (name)"), out);
                }
                match props.and_then(|p| p.get(k)) {
                    Some(p) => self.check(p, x, &here, out),
                    None => match s.get("additionalProperties") {
                        Some(Value::Bool(false)) => out.push(format!("{at}: unknown property `{k}`")),
                        Some(extra) => self.check(extra, x, &here, out),
                        None => {}
                    },
                }
            }
        }
    }
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "number" => v.is_number(),
        // 2020-12: any number with a zero fractional part.
        "integer" => v.is_u64() || v.is_i64() || v.as_f64().is_some_and(|x| x.fract() == 0.0),
        other => panic!("unknown type `{other}` in the schema"),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!("{}…", &s[..s.char_indices().nth(57).map_or(s.len(), |c| c.0)])
    } else {
        s
    }
}

/// Panic on a keyword this validator does not implement, anywhere a
/// schema can be.
fn check_keywords(schema: &Value, at: &str) {
    let Some(s) = schema.as_object() else {
        assert!(schema.is_boolean(), "{at}: a schema must be an object or a boolean");
        return;
    };
    for (k, v) in s {
        assert!(
            ANNOTATIONS.contains(&k.as_str()) || ASSERTIONS.contains(&k.as_str()),
            "{at}: keyword `{k}` is not supported by tests/it/schema.rs; implement it there (with a test) first"
        );
        match k.as_str() {
            "properties" | "$defs" => {
                for (name, sub) in v.as_object().unwrap_or_else(|| panic!("{at}/{k}: expected an object")) {
                    check_keywords(sub, &format!("{at}/{k}/{name}"));
                }
            }
            "additionalProperties" | "items" | "propertyNames" => check_keywords(v, &format!("{at}/{k}")),
            _ => {}
        }
    }
}

/// The schema of `summary.json`, `docs/summary.schema.json`.
pub fn summary_schema() -> Schema {
    Schema::load(&super::repo("docs/summary.schema.json"))
}

/// Panic, naming `what` and every violation, unless `summary` is valid.
pub fn assert_valid_summary(what: &str, summary: &Value) {
    let errors = summary_schema().errors(summary);
    assert!(
        errors.is_empty(),
        "{what} does not follow docs/summary.schema.json:\n{}",
        errors.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn person() -> Schema {
        Schema::from_value(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "age": {"type": "integer", "minimum": 0},
                "ci": {"$ref": "#/$defs/pair"},
                "side": {"enum": ["max", "min"]},
                "v": {"const": "1.0"},
                "scores": {"type": "object", "propertyNames": {"enum": ["a", "b"]}, "additionalProperties": {"type": "number"}}
            },
            "required": ["name", "age"],
            "additionalProperties": false,
            "$defs": {"pair": {"type": ["array", "null"], "items": {"type": "number"}, "minItems": 2, "maxItems": 2}}
        }))
    }

    fn one_error(v: Value, expect: &str) {
        let e = person().errors(&v);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains(expect), "{e:?} should mention {expect}");
    }

    #[test]
    fn accepts_a_valid_document() {
        let ok = json!({"name": "a", "age": 3, "ci": [1.0, 2.5], "side": "min", "v": "1.0", "scores": {"a": 1.5}});
        assert_eq!(person().errors(&ok), Vec::<String>::new());
        assert!(person()
            .errors(&json!({"name": "a", "age": 3.0, "ci": null}))
            .is_empty());
    }

    #[test]
    fn rejects_wrong_types() {
        one_error(json!({"name": 5, "age": 3}), "/name: 5 is not of type string");
        one_error(json!({"name": "a", "age": 3.5}), "/age: 3.5 is not of type integer");
        one_error(json!({"name": "a", "age": "3"}), "is not of type integer");
        one_error(
            json!({"name": "a", "age": 3, "ci": "x"}),
            "/ci: \"x\" is not of type array or null",
        );
        one_error(json!({"name": "a", "age": 3, "ci": [1, "x"]}), "/ci/1");
        assert!(!person().errors(&json!([1])).is_empty());
    }

    #[test]
    fn rejects_missing_required_fields() {
        one_error(json!({"name": "a"}), "required property `age` is missing");
    }

    #[test]
    fn rejects_unknown_properties_and_names() {
        one_error(json!({"name": "a", "age": 1, "agee": 1}), "unknown property `agee`");
        one_error(json!({"name": "a", "age": 1, "scores": {"c": 1}}), "/scores/c (name)");
        one_error(json!({"name": "a", "age": 1, "scores": {"a": "x"}}), "/scores/a");
    }

    #[test]
    fn rejects_values_outside_enum_const_minimum_and_length() {
        one_error(
            json!({"name": "a", "age": 1, "side": "maximum"}),
            "not one of the allowed values",
        );
        one_error(json!({"name": "a", "age": 1, "v": "2.0"}), "is not \"1.0\"");
        one_error(json!({"name": "a", "age": -1}), "below the minimum");
        one_error(json!({"name": "a", "age": 1, "ci": [1]}), "at least 2");
        one_error(json!({"name": "a", "age": 1, "ci": [1, 2, 3]}), "at most 2");
    }

    #[test]
    #[should_panic(expected = "keyword `pattern` is not supported")]
    fn refuses_a_schema_with_a_keyword_it_does_not_implement() {
        Schema::from_value(json!({"properties": {"x": {"type": "string", "pattern": "^a"}}}));
    }
}
