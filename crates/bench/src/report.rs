//! The results of a run as sections of rows, printed as Markdown tables with ratios.

use std::fmt::Write as _;

use crate::stats::Summary;

/// One system under one setup: a figure per column, each the summary of several runs.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// A key other parts (ratios, targets) find the row by.
    pub(crate) key: &'static str,
    /// The system: `bgtasks`, a peer, or a floor.
    pub(crate) system: String,
    /// How it was set up (mode, options).
    pub(crate) setup: String,
    /// Jobs per run, where it applies.
    pub(crate) n: Option<usize>,
    /// What the clock stopped on, or other notes on the measurement.
    pub(crate) note: String,
    /// The figures, one per column, or why there are none.
    pub(crate) values: Result<Vec<Summary>, String>,
}

/// A workload: its rows, its columns, and which rows are compared.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    /// Title.
    pub(crate) title: String,
    /// What the figures mean.
    pub(crate) intro: String,
    /// The columns' headers.
    pub(crate) columns: Vec<&'static str>,
    /// Decimals to print.
    pub(crate) decimals: usize,
    /// The rows.
    pub(crate) rows: Vec<Row>,
    /// (ours, other) pairs printed as ratios, ours ÷ other per column.
    pub(crate) ratios: Vec<(&'static str, &'static str)>,
}

impl Section {
    /// A section without rows.
    pub(crate) fn new(
        title: impl Into<String>,
        intro: impl Into<String>,
        columns: Vec<&'static str>,
        decimals: usize,
    ) -> Self {
        Self {
            title: title.into(),
            intro: intro.into(),
            columns,
            decimals,
            rows: Vec::new(),
            ratios: Vec::new(),
        }
    }

    /// The row with this key.
    pub(crate) fn row(&self, key: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.key == key)
    }

    /// The median of a column of a row, if measured.
    pub(crate) fn median(&self, key: &str, column: usize) -> Option<f64> {
        let row = self.row(key)?;
        let values = row.values.as_ref().ok()?;
        values
            .get(column)
            .map(|s| s.median)
            .filter(|v| v.is_finite())
    }

    /// The section as Markdown.
    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "### {}\n\n{}\n", self.title, self.intro);
        let mut header = String::from("| system | setup | N |");
        let mut rule = String::from("|---|---|---:|");
        for column in &self.columns {
            let _ = write!(header, " {column} (median, min–max) |");
            rule.push_str("---:|");
        }
        header.push_str(" measured |");
        rule.push_str("---|");
        let _ = writeln!(out, "{header}\n{rule}");
        for row in &self.rows {
            let n = row.n.map_or_else(|| "–".to_owned(), group_digits);
            let _ = write!(out, "| {} | {} | {} |", row.system, row.setup, n);
            match &row.values {
                Ok(values) => {
                    for summary in values {
                        let _ = write!(out, " {} |", self.cell(summary));
                    }
                }
                Err(why) => {
                    for _ in &self.columns {
                        let _ = write!(out, " not measured |");
                    }
                    let _ = write!(out, " {} — {} |", row.note, why.replace('|', "/"));
                    out.push('\n');
                    continue;
                }
            }
            let _ = writeln!(out, " {} |", row.note);
        }
        let ratios = self.ratio_lines();
        if !ratios.is_empty() {
            let _ = writeln!(out, "\nRatios (ours ÷ theirs, medians):\n");
            for line in ratios {
                let _ = writeln!(out, "- {line}");
            }
        }
        out.push('\n');
        out
    }

    fn cell(&self, summary: &Summary) -> String {
        let fmt = |v: f64| format_number(v, self.decimals);
        if summary.runs <= 1 {
            fmt(summary.median)
        } else {
            format!(
                "{} ({}–{})",
                fmt(summary.median),
                fmt(summary.min),
                fmt(summary.max)
            )
        }
    }

    fn ratio_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (ours, other) in &self.ratios {
            let (Some(a), Some(b)) = (self.row(ours), self.row(other)) else {
                continue;
            };
            let mut parts = Vec::new();
            for (i, column) in self.columns.iter().enumerate() {
                match (self.median(ours, i), self.median(other, i)) {
                    (Some(x), Some(y)) if y != 0.0 => {
                        parts.push(format!("{column} {}×", format_ratio(x / y)));
                    }
                    _ => parts.push(format!("{column} n/a")),
                }
            }
            lines.push(format!(
                "{} ({}) vs {} ({}): {}",
                a.system,
                a.setup,
                b.system,
                b.setup,
                parts.join(", ")
            ));
        }
        lines
    }
}

/// A ratio with sensible precision.
pub(crate) fn format_ratio(ratio: f64) -> String {
    if ratio >= 100.0 {
        format!("{ratio:.0}")
    } else if ratio >= 10.0 {
        format!("{ratio:.1}")
    } else {
        format!("{ratio:.2}")
    }
}

/// A number with thousands separators and `decimals` decimals.
pub(crate) fn format_number(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    let text = format!("{value:.decimals$}");
    let (int, frac) = match text.split_once('.') {
        Some((int, frac)) => (int.to_owned(), Some(frac.to_owned())),
        None => (text, None),
    };
    let (sign, digits) = match int.strip_prefix('-') {
        Some(digits) => ("-", digits.to_owned()),
        None => ("", int),
    };
    let grouped = group_str(&digits);
    match frac {
        Some(frac) => format!("{sign}{grouped}.{frac}"),
        None => format!("{sign}{grouped}"),
    }
}

fn group_digits(n: usize) -> String {
    group_str(&n.to_string())
}

fn group_str(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(format_number(1234567.891, 0), "1,234,568");
        assert_eq!(format_number(1234.5, 2), "1,234.50");
        assert_eq!(format_number(12.0, 0), "12");
        assert_eq!(format_number(-1234.0, 0), "-1,234");
        assert_eq!(format_ratio(0.456), "0.46");
    }

    #[test]
    fn sections_print_ratios() {
        let mut section = Section::new("t", "i", vec!["jobs/s"], 0);
        for (key, v) in [("a", 200.0), ("b", 100.0)] {
            section.rows.push(Row {
                key,
                system: key.to_owned(),
                setup: "s".to_owned(),
                n: Some(10),
                note: String::new(),
                values: Ok(vec![Summary::of(&[v])]),
            });
        }
        section.ratios.push(("a", "b"));
        let text = section.markdown();
        assert!(text.contains("a (s) vs b (s): jobs/s 2.00×"), "{text}");
    }
}
