//! The queries of the shipped Grafana dashboard, docs/grafana/bgtasks.json, with its
//! variables replaced so that Prometheus itself can evaluate them.

use std::path::PathBuf;

use serde_json::Value;

/// The window `$__rate_interval` stands for: long enough to hold every scrape of the
/// test (one a second), short enough that the whole test fits in it.
pub const RATE_WINDOW: &str = "30s";

/// One query of one panel.
#[derive(Debug, Clone)]
pub struct PanelQuery {
    /// The panel's title.
    pub panel: String,
    /// The query's `refId` (A, B, C...).
    pub ref_id: String,
    /// The query as the dashboard has it.
    pub expr: String,
}

impl PanelQuery {
    /// The query with `$type` as "every type" (the variable's `allValue`) and
    /// `$__rate_interval` as [`RATE_WINDOW`].
    pub fn evaluable(&self) -> String {
        substitute(&self.expr)
    }
}

/// Replaces the dashboard's variables.
pub fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", RATE_WINDOW)
        .replace("${type}", ".*")
        .replace("$type", ".*")
}

/// Where the dashboard is.
pub fn dashboard_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/grafana/bgtasks.json")
}

/// The dashboard's JSON.
pub fn dashboard() -> Value {
    let path = dashboard_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every query of every panel (rows' nested panels included), in the dashboard's order;
/// fails naming a panel other than a row that has none.
pub fn queries(dashboard: &Value) -> Vec<PanelQuery> {
    let mut found = Vec::new();
    collect(
        dashboard["panels"]
            .as_array()
            .map_or(&[][..], Vec::as_slice),
        &mut found,
    );
    found
}

fn collect(panels: &[Value], found: &mut Vec<PanelQuery>) {
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or("(untitled)").to_owned();
        if panel["type"] == "row" {
            if let Some(nested) = panel["panels"].as_array() {
                collect(nested, found);
            }
            continue;
        }
        let exprs: Vec<_> = panel["targets"]
            .as_array()
            .map(|targets| {
                targets
                    .iter()
                    .filter_map(|t| {
                        let expr = t["expr"].as_str()?;
                        Some(PanelQuery {
                            panel: title.clone(),
                            ref_id: t["refId"].as_str().unwrap_or("?").to_owned(),
                            expr: expr.to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            !exprs.is_empty(),
            "panel `{title}` of the dashboard has no query"
        );
        found.extend(exprs);
    }
}

/// The `label_values(METRIC, LABEL)` of the dashboard's `type` variable.
pub fn type_variable(dashboard: &Value) -> (String, String) {
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("the dashboard's templating list");
    let variable = variables
        .iter()
        .find(|v| v["name"] == "type")
        .expect("the dashboard's `type` variable");
    let definition = variable["definition"]
        .as_str()
        .expect("the `type` variable's definition");
    let inner = definition
        .strip_prefix("label_values(")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("the `type` variable is not label_values(..): {definition}"));
    let (metric, label) = inner
        .split_once(',')
        .unwrap_or_else(|| panic!("label_values takes a metric and a label: {definition}"));
    (metric.trim().to_owned(), label.trim().to_owned())
}

#[test]
fn variables_are_replaced() {
    assert_eq!(
        substitute(r#"sum(rate(x{type=~"$type"}[$__rate_interval]))"#),
        r#"sum(rate(x{type=~".*"}[30s]))"#
    );
}
