//! Stage 6, JSON: the `--json` shapes. These are an API: field names and
//! types only ever gain keys, never change (see README, "JSON output").

use crate::search::{Hit, SearchResult};
use crate::trial::Trial;
use serde_json::{json, Map, Value};

/// A source as one string: the path, and `!entry` for an archive entry.
pub fn source_string(s: &crate::trial::Source) -> String {
    match &s.entry {
        Some(e) => format!("{}!{}", s.path, e),
        None => s.path.clone(),
    }
}

/// One hit of `query --json`.
pub fn hit(h: &Hit) -> Value {
    let t = &h.trial;
    let mut v = json!({
        "rank": h.rank,
        "id": t.id,
        "nct_id": t.nct_id,
        "title": t.display_title(),
        "status": t.status.map(|s| s.as_str()),
        "phases": t.phases.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "conditions": t.conditions,
        "sponsor": t.sponsor,
        "countries": t.countries,
        "score": (h.score as f64 * 10_000.0).round() / 10_000.0,
        "snippet": h.snippet,
        "snippet_field": h.snippet_field,
        "sources": t.sources.iter().map(source_string).collect::<Vec<_>>(),
    });
    // `--explain` adds a key; without it the shape is unchanged.
    if let (Some(e), Some(m)) = (&h.explain, v.as_object_mut()) {
        let parts: Vec<Value> = e
            .iter()
            .map(|c| {
                json!({
                    "field": c.field,
                    "text": c.text,
                    "kind": c.kind,
                    "score": (c.score as f64 * 10_000.0).round() / 10_000.0,
                })
            })
            .collect();
        m.insert("explain".into(), Value::Array(parts));
    }
    v
}

/// Facet counts as `{field: {value: count}}`.
pub fn facets(r: &SearchResult) -> Value {
    let mut m = Map::new();
    for (field, values) in &r.facets {
        let mut inner = Map::new();
        for (v, n) in values {
            inner.insert(v.clone(), json!(n));
        }
        m.insert(field.clone(), Value::Object(inner));
    }
    Value::Object(m)
}

/// The whole `query --json` object.
pub fn result(r: &SearchResult) -> Value {
    json!({
        "query": r.query,
        "total": r.total,
        "hits": r.hits.iter().map(hit).collect::<Vec<_>>(),
        "facets": facets(r),
        "notes": r.notes,
    })
}

/// The `show --json` object: the normalized record.
pub fn trial(t: &Trial) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}
