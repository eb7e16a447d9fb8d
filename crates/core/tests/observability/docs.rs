//! docs/observability.md lists every metric, and the Grafana dashboard uses every metric
//! and no other.

use std::collections::BTreeSet;

use bgtasks_core::metrics::names;

fn read(path: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../");
    std::fs::read_to_string(format!("{root}{path}"))
        .unwrap_or_else(|error| panic!("cannot read {path}: {error}"))
}

/// The `bgtasks_…` metric names a text mentions, histogram series folded into their
/// metric.
fn mentioned(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("bgtasks_") {
        let name: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        let name = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .map_or(name.clone(), str::to_owned);
        found.insert(name);
    }
    found
}

#[test]
fn the_guide_and_the_dashboard_name_exactly_the_metrics_emitted() {
    let all: BTreeSet<String> = names::ALL.iter().map(|n| (*n).to_owned()).collect();
    let guide = read("docs/observability.md");
    for name in &all {
        assert!(
            guide.contains(&format!("| `{name}` |")),
            "docs/observability.md has no table row for {name}"
        );
    }
    let dashboard = read("docs/grafana/bgtasks.json");
    let json: serde_json::Value = serde_json::from_str(&dashboard).expect("valid JSON");
    assert_eq!(json["title"], "bgtasks");
    let used = mentioned(&dashboard);
    let unknown: Vec<_> = used.difference(&all).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard uses unknown metrics: {unknown:?}"
    );
    let unused: Vec<_> = all.difference(&used).collect();
    assert!(unused.is_empty(), "the dashboard does not show {unused:?}");
}
