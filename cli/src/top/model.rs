//! What `warden top` shows: one row per operation from successive
//! scrapes, its p95 history, the firing alerts, sorting and filtering.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::scrape::Sample;

/// How many p95 values each operation's sparkline keeps.
pub(crate) const HISTORY: usize = 60;

/// A column to sort by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Column {
    Operation,
    Rate,
    Errors,
    P50,
    P95,
    P99,
    InFlight,
}

impl Column {
    pub(crate) const ALL: [Column; 7] = [
        Column::Operation,
        Column::Rate,
        Column::Errors,
        Column::P50,
        Column::P95,
        Column::P99,
        Column::InFlight,
    ];

    pub(crate) fn title(self) -> &'static str {
        match self {
            Column::Operation => "OPERATION",
            Column::Rate => "RATE/s",
            Column::Errors => "ERR%",
            Column::P50 => "P50 ms",
            Column::P95 => "P95 ms",
            Column::P99 => "P99 ms",
            Column::InFlight => "IN-FLIGHT",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Column> {
        let text = text.to_ascii_lowercase();
        Column::ALL.into_iter().find(|c| {
            let title = c.title().to_ascii_lowercase();
            title.starts_with(&text) || title.replace(['/', '%', ' ', '-'], "").starts_with(&text)
        })
    }

    fn step(self, by: isize) -> Column {
        let at = Column::ALL.iter().position(|c| *c == self).unwrap_or(0) as isize;
        let n = Column::ALL.len() as isize;
        Column::ALL[((at + by).rem_euclid(n)) as usize]
    }
}

/// One operation's row.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Row {
    pub(crate) operation: String,
    /// Calls per second between the last two scrapes.
    pub(crate) rate: Option<f64>,
    /// Errors per call between the last two scrapes (since start on the
    /// first, or when there were no calls between them).
    pub(crate) error_ratio: Option<f64>,
    /// Seconds.
    pub(crate) p50: Option<f64>,
    pub(crate) p95: Option<f64>,
    pub(crate) p99: Option<f64>,
    pub(crate) in_flight: f64,
}

/// The state of the view.
#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) endpoint: String,
    pub(crate) rows: Vec<Row>,
    pub(crate) firing: Vec<String>,
    /// Call sites the flood limit suppressed events of between the last two
    /// scrapes (`target file:line`), with how many a second, most first.
    pub(crate) flooding: Vec<(String, f64)>,
    pub(crate) history: HashMap<String, VecDeque<f64>>,
    pub(crate) error: Option<String>,
    pub(crate) scrapes: u64,
    pub(crate) sort: Column,
    pub(crate) descending: bool,
    pub(crate) filter: String,
    pub(crate) editing_filter: bool,
    previous: Option<(Instant, Totals)>,
    /// Each call site's suppressed events since start, as of the last scrape.
    previous_flood: HashMap<String, f64>,
}

/// Each operation's calls and errors since start, as of one scrape.
type Totals = HashMap<String, (f64, f64)>;

impl Model {
    pub(crate) fn new(endpoint: &str, sort: Column) -> Self {
        Model {
            endpoint: endpoint.to_owned(),
            rows: Vec::new(),
            firing: Vec::new(),
            flooding: Vec::new(),
            history: HashMap::new(),
            error: None,
            scrapes: 0,
            sort,
            descending: sort != Column::Operation,
            filter: String::new(),
            editing_filter: false,
            previous: None,
            previous_flood: HashMap::new(),
        }
    }

    /// Takes a scrape made at `at`.
    pub(crate) fn update(&mut self, samples: &[Sample], at: Instant) {
        let suffix_of = |name: &str, suffix: &str| name.ends_with(suffix);
        let mut rows: HashMap<String, Row> = HashMap::new();
        let mut totals: HashMap<String, (f64, f64)> = HashMap::new();
        let mut firing = Vec::new();
        let mut flood = HashMap::new();
        for s in samples {
            if suffix_of(&s.name, "_flood_suppressed_total") {
                let label = |name: &str| s.labels.get(name).map_or("", String::as_str);
                let site = format!("{} {}:{}", label("target"), label("file"), label("line"));
                flood.insert(site, s.value);
                continue;
            }
            if suffix_of(&s.name, "_alert_firing") {
                if s.value > 0.0 {
                    firing.push(s.labels.get("rule").cloned().unwrap_or_default());
                }
                continue;
            }
            let Some(op) = s.labels.get("operation") else {
                continue;
            };
            let row = rows.entry(op.clone()).or_insert_with(|| Row {
                operation: op.clone(),
                ..Row::default()
            });
            let total = totals.entry(op.clone()).or_default();
            let finite = Some(s.value).filter(|v| v.is_finite());
            if suffix_of(&s.name, "_operation_duration_seconds") {
                match s.labels.get("quantile").map(String::as_str) {
                    Some("0.5") => row.p50 = finite,
                    Some("0.95") => row.p95 = finite,
                    Some("0.99") => row.p99 = finite,
                    _ => {}
                }
            } else if suffix_of(&s.name, "_operation_calls_total") {
                total.0 = s.value;
            } else if suffix_of(&s.name, "_operation_errors_total") {
                total.1 += s.value;
            } else if suffix_of(&s.name, "_operation_in_flight") {
                row.in_flight = s.value;
            }
        }
        for (op, row) in &mut rows {
            let (calls, errors) = totals.get(op).copied().unwrap_or_default();
            let before = self
                .previous
                .as_ref()
                .and_then(|(t, p)| p.get(op).map(|v| (*t, *v)));
            match before {
                Some((then, (calls_before, errors_before))) => {
                    let seconds = at.duration_since(then).as_secs_f64().max(1e-3);
                    let delta = (calls - calls_before).max(0.0);
                    row.rate = Some(delta / seconds);
                    // Over the interval; with no calls in it, since start.
                    row.error_ratio = if delta > 0.0 {
                        Some(((errors - errors_before).max(0.0) / delta).min(1.0))
                    } else {
                        (calls > 0.0).then(|| errors / calls)
                    };
                }
                None => {
                    row.rate = None;
                    row.error_ratio = (calls > 0.0).then(|| errors / calls);
                }
            }
            let history = self.history.entry(op.clone()).or_default();
            history.push_back(row.p95.unwrap_or(f64::NAN));
            while history.len() > HISTORY {
                history.pop_front();
            }
        }
        self.flooding = match &self.previous {
            Some((then, _)) => {
                let seconds = at.duration_since(*then).as_secs_f64().max(1e-3);
                let mut now: Vec<(String, f64)> = flood
                    .iter()
                    .filter_map(|(site, n)| {
                        let before = self.previous_flood.get(site).copied().unwrap_or(0.0);
                        (*n > before).then(|| (site.clone(), (n - before) / seconds))
                    })
                    .collect();
                now.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                now
            }
            None => Vec::new(),
        };
        self.previous_flood = flood;
        self.history.retain(|op, _| rows.contains_key(op));
        self.rows = rows.into_values().collect();
        self.firing = firing;
        self.previous = Some((at, totals));
        self.error = None;
        self.scrapes += 1;
    }

    /// A scrape failed: the table stays, the error is shown.
    pub(crate) fn failed(&mut self, error: String) {
        self.error = Some(error);
    }

    /// The rows to show: filtered by name, sorted.
    pub(crate) fn visible(&self) -> Vec<&Row> {
        let filter = self.filter.to_ascii_lowercase();
        let mut rows: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| filter.is_empty() || r.operation.to_ascii_lowercase().contains(&filter))
            .collect();
        let key = |r: &Row| -> f64 {
            let v = match self.sort {
                Column::Operation => None,
                Column::Rate => r.rate,
                Column::Errors => r.error_ratio,
                Column::P50 => r.p50,
                Column::P95 => r.p95,
                Column::P99 => r.p99,
                Column::InFlight => Some(r.in_flight),
            };
            v.filter(|v| v.is_finite()).unwrap_or(f64::NEG_INFINITY)
        };
        rows.sort_by(|a, b| {
            let order = match self.sort {
                Column::Operation => a.operation.cmp(&b.operation),
                _ => key(a)
                    .total_cmp(&key(b))
                    .then_with(|| b.operation.cmp(&a.operation)),
            };
            if self.descending {
                order.reverse()
            } else {
                order
            }
        });
        rows
    }

    /// Sorts by the next (or previous) column.
    pub(crate) fn next_sort(&mut self, by: isize) {
        self.sort = self.sort.step(by);
        self.descending = self.sort != Column::Operation;
    }

    /// The p95 sparkline of `operation` (one character per scrape).
    pub(crate) fn sparkline(&self, operation: &str, width: usize) -> String {
        const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
        let Some(history) = self.history.get(operation) else {
            return String::new();
        };
        let values: Vec<f64> = history.iter().rev().take(width).rev().copied().collect();
        let max = values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        values
            .iter()
            .map(|v| {
                if !v.is_finite() || max <= 0.0 {
                    ' '
                } else {
                    BARS[(((v / max) * 7.0).round() as usize).min(7)]
                }
            })
            .collect()
    }
}

/// Seconds as milliseconds, or `-`.
pub(crate) fn ms(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{:.2}", v * 1e3))
}

/// A ratio as a percentage, or `-`.
pub(crate) fn percent(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{:.1}%", v * 100.0))
}

/// A rate, or `-`.
pub(crate) fn rate(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.1}"))
}

/// The table as plain text (`warden top --once`).
pub(crate) fn text_table(model: &Model) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if !model.firing.is_empty() {
        let _ = writeln!(out, "FIRING: {}", model.firing.join(", "));
    }
    for (site, per_second) in &model.flooding {
        let _ = writeln!(
            out,
            "FLOOD: {site} {} suppressed/s",
            rate(Some(*per_second))
        );
    }
    let _ = writeln!(
        out,
        "{:<32} {:>9} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "OPERATION", "RATE/s", "ERR%", "P50 ms", "P95 ms", "P99 ms", "IN-FLIGHT"
    );
    for r in model.visible() {
        let _ = writeln!(
            out,
            "{:<32} {:>9} {:>7} {:>9} {:>9} {:>9} {:>9}",
            r.operation,
            rate(r.rate),
            percent(r.error_ratio),
            ms(r.p50),
            ms(r.p95),
            ms(r.p99),
            r.in_flight
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::top::scrape::parse;

    fn scrape(calls: u64, errors: u64, p95: f64) -> Vec<Sample> {
        parse(&format!(
            "warden_flood_suppressed_total{{target=\"app::retry\",file=\"src/retry.rs\",line=\"42\"}} {}\n\
             warden_flood_suppressed_total{{target=\"app::quiet\",file=\"src/q.rs\",line=\"7\"}} 5\n\
             {}",
            calls * 2,
            scrape_operations(calls, errors, p95)
        ))
        .unwrap()
    }

    fn scrape_operations(calls: u64, errors: u64, p95: f64) -> String {
        format!(
            "warden_operation_calls_total{{operation=\"pay\"}} {calls}\n\
             warden_operation_errors_total{{operation=\"pay\",code=\"503\"}} {errors}\n\
             warden_operation_duration_seconds{{operation=\"pay\",quantile=\"0.95\"}} {p95}\n\
             warden_operation_calls_total{{operation=\"get\"}} {}\n\
             warden_operation_in_flight{{operation=\"get\"}} 3\n\
             warden_alert_firing{{rule=\"p95(pay) > 2ms\"}} 1\n\
             warden_alert_firing{{rule=\"quiet\"}} 0\n",
            calls * 10
        )
    }

    #[test]
    fn rates_and_error_ratios_come_from_successive_scrapes() {
        let mut model = Model::new("http://x", Column::P95);
        let t0 = Instant::now();
        model.update(&scrape(100, 10, 0.004), t0);
        let pay = model.rows.iter().find(|r| r.operation == "pay").unwrap();
        assert_eq!((pay.rate, pay.error_ratio), (None, Some(0.1)));
        model.update(
            &scrape(300, 70, 0.008),
            t0 + std::time::Duration::from_secs(2),
        );
        let pay = model.rows.iter().find(|r| r.operation == "pay").unwrap();
        assert_eq!(pay.rate, Some(100.0));
        assert_eq!(pay.error_ratio, Some(0.3));
        assert_eq!(model.firing, ["p95(pay) > 2ms"]);
        assert_eq!(model.sparkline("pay", 10).chars().count(), 2);
        // Sorting and filtering.
        assert_eq!(model.visible()[0].operation, "pay", "highest p95 first");
        model.sort = Column::InFlight;
        assert_eq!(model.visible()[0].operation, "get");
        model.filter = "PA".into();
        assert_eq!(model.visible().len(), 1);
        assert_eq!(Column::parse("p99"), Some(Column::P99));
        assert_eq!(Column::parse("err"), Some(Column::Errors));
        let text = text_table(&model);
        assert!(text.starts_with("FIRING: p95(pay) > 2ms"), "{text}");
        // 200 → 600 suppressed in 2 s at one site; none more at the other.
        assert_eq!(
            model.flooding,
            [("app::retry src/retry.rs:42".to_owned(), 200.0)]
        );
        assert!(text.contains("FLOOD: app::retry src/retry.rs:42"), "{text}");
    }
}
