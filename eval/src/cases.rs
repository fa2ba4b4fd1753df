//! Scoring labelled cases.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::ops::Range;
use std::path::Path;

use warden_pii::Sanitizer;

/// Counts for one kind of labelled value.
#[derive(Default)]
struct KindScore {
    labelled: usize,
    recalled: usize,
    /// Recalled, but found as another kind.
    other_kind: usize,
}

/// The whole evaluation's counts.
#[derive(Default)]
pub(crate) struct Score {
    cases: usize,
    positive_cases: usize,
    positive_recalled: usize,
    negative_cases: usize,
    negative_flagged: usize,
    /// Findings in positive cases that touch no label.
    spurious_in_positive: usize,
    /// Bytes redacted beyond the labelled values, and in how many cases.
    damage_bytes: usize,
    damaged_cases: usize,
    kinds: BTreeMap<String, KindScore>,
    by_source: BTreeMap<String, (usize, usize)>,
    /// Per group (what a source names after `#`: an identifier's scheme,
    /// a phone region, `invalid`): labels and labels recalled, clean
    /// cases and clean cases flagged.
    groups: BTreeMap<String, GroupScore>,
    misses: Vec<String>,
}

/// The sources whose cases are scored per group (what follows `#`: an
/// identifier's scheme, `invalid`, a phone region), each group held to
/// the per-kind thresholds.
const GROUPED: [&str; 4] = [
    "presidio:presidio-analyzer",
    "generated:national",
    "python-stdnum:tests",
    "libphonenumber:metadata",
];

/// One group's figures.
#[derive(Default)]
struct GroupScore {
    labelled: usize,
    recalled: usize,
    clean: usize,
    flagged: usize,
}

fn covered<'a>(
    text: &str,
    findings: &'a [(String, Range<usize>)],
    label: &Range<usize>,
) -> Option<&'a str> {
    // Every letter and digit of the label inside some finding; the kind of
    // the first.
    let mut pos = label.start;
    let mut kind = None;
    while pos < label.end {
        if !text.as_bytes()[pos].is_ascii_alphanumeric() {
            pos += 1;
            continue;
        }
        let f = findings
            .iter()
            .find(|(_, r)| r.start <= pos && pos < r.end)?;
        kind.get_or_insert(f.0.as_str());
        pos = f.1.end;
    }
    kind
}

impl Score {
    fn add(
        &mut self,
        source: &str,
        text: &str,
        labels: &[(String, String)],
        s: &Sanitizer,
        show: bool,
    ) {
        self.cases += 1;
        let findings: Vec<(String, Range<usize>)> = s
            .findings(text)
            .into_iter()
            .map(|f| (f.kind.name().to_owned(), f.range))
            .collect();
        // Locate each label, in order.
        let mut ranges = Vec::new();
        let mut from = 0;
        for (kind, value) in labels {
            let at = text[from..]
                .find(value.as_str())
                .map(|i| from + i)
                .or_else(|| text.find(value.as_str()));
            match at {
                Some(a) => {
                    ranges.push((kind.clone(), a..a + value.len()));
                    from = a + value.len();
                }
                None => self
                    .misses
                    .push(format!("BAD LABEL {source}: {value:?} not in {text:?}")),
            }
        }
        let family = source.split(['#', '/']).next().unwrap_or(source).to_owned();
        let grouped = GROUPED.contains(&family.as_str());
        let entry = self.by_source.entry(family).or_default();
        entry.0 += 1;
        let mut group = source
            .split_once('#')
            .filter(|(_, g)| grouped && !g.is_empty())
            .map(|(_, g)| self.groups.entry(g.to_owned()).or_default());
        if labels.is_empty() {
            if let Some(g) = group.as_deref_mut() {
                g.clean += 1;
                g.flagged += usize::from(!findings.is_empty());
            }
        }
        let mut all_recalled = true;
        for (kind, r) in &ranges {
            let k = self.kinds.entry(kind.clone()).or_default();
            k.labelled += 1;
            if let Some(g) = group.as_deref_mut() {
                g.labelled += 1;
            }
            match covered(text, &findings, r) {
                Some(found) => {
                    k.recalled += 1;
                    if let Some(g) = group.as_deref_mut() {
                        g.recalled += 1;
                    }
                    if found != kind {
                        k.other_kind += 1;
                    }
                }
                None => {
                    all_recalled = false;
                    if show {
                        self.misses.push(format!(
                            "MISS {kind} {:?} in {text:?} [{source}]",
                            &text[r.clone()]
                        ));
                    }
                }
            }
        }
        let spurious: Vec<&(String, Range<usize>)> = findings
            .iter()
            .filter(|(_, f)| {
                !ranges
                    .iter()
                    .any(|(_, r)| f.start < r.end && r.start < f.end)
            })
            .collect();
        let damage: usize = findings
            .iter()
            .filter(|(_, f)| {
                ranges
                    .iter()
                    .any(|(_, r)| f.start < r.end && r.start < f.end)
            })
            .map(|(_, f)| {
                (f.start..f.end)
                    .filter(|p| !ranges.iter().any(|(_, r)| r.contains(p)))
                    .filter(|&p| !matches!(text.as_bytes()[p], b' ' | b'-' | b'.'))
                    .count()
            })
            .sum();
        if damage > 0 {
            self.damage_bytes += damage;
            self.damaged_cases += 1;
            if show {
                let found: Vec<&str> = findings.iter().map(|(_, r)| &text[r.clone()]).collect();
                self.misses.push(format!(
                    "DAMAGE {damage} bytes in {text:?}: found {found:?} [{source}]"
                ));
            }
        }
        if labels.is_empty() {
            self.negative_cases += 1;
            if !findings.is_empty() {
                self.negative_flagged += 1;
                entry.1 += 1;
            }
        } else {
            self.positive_cases += 1;
            if all_recalled && ranges.len() == labels.len() {
                self.positive_recalled += 1;
            } else {
                entry.1 += 1;
            }
            self.spurious_in_positive += spurious.len();
        }
        if show {
            for (kind, r) in spurious {
                self.misses.push(format!(
                    "FALSE {kind} {:?} in {text:?} [{source}]",
                    &text[r.clone()]
                ));
            }
        }
    }

    fn recall(&self) -> f64 {
        ratio(self.positive_recalled, self.positive_cases)
    }

    fn fpr(&self) -> f64 {
        ratio(self.negative_flagged, self.negative_cases)
    }

    /// What falls short of the thresholds.
    pub(crate) fn failures(&self, min_recall: f64, min_kind: f64, max_fpr: f64) -> Vec<String> {
        let mut out = Vec::new();
        if self.recall() < min_recall {
            out.push(format!("case recall {:.4} < {min_recall}", self.recall()));
        }
        if self.fpr() > max_fpr {
            out.push(format!("false-positive rate {:.4} > {max_fpr}", self.fpr()));
        }
        for (kind, k) in &self.kinds {
            let r = ratio(k.recalled, k.labelled);
            if r < min_kind {
                out.push(format!("{kind} recall {r:.4} < {min_kind}"));
            }
        }
        for (name, g) in &self.groups {
            let r = ratio(g.recalled, g.labelled);
            if g.labelled > 0 && r < min_kind {
                out.push(format!("{name} recall {r:.4} < {min_kind}"));
            }
            let flagged = ratio(g.flagged, g.clean);
            if g.clean > 0 && flagged > max_fpr {
                out.push(format!(
                    "{name}: {flagged:.4} of clean cases flagged > {max_fpr}"
                ));
            }
        }
        if self.misses.iter().any(|m| m.starts_with("BAD LABEL")) {
            out.push("a label is not in its case's text".into());
        }
        out
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.misses {
            writeln!(f, "{m}")?;
        }
        writeln!(
            f,
            "\n{} cases ({} with PII, {} without)",
            self.cases, self.positive_cases, self.negative_cases
        )?;
        writeln!(
            f,
            "{:<14} {:>8} {:>8} {:>8} {:>10}",
            "kind", "labels", "recalled", "recall", "other kind"
        )?;
        for (kind, k) in &self.kinds {
            writeln!(
                f,
                "{:<14} {:>8} {:>8} {:>8.4} {:>10}",
                kind,
                k.labelled,
                k.recalled,
                ratio(k.recalled, k.labelled),
                k.other_kind
            )?;
        }
        writeln!(
            f,
            "case recall          {:.4} ({}/{})",
            self.recall(),
            self.positive_recalled,
            self.positive_cases
        )?;
        writeln!(
            f,
            "false-positive rate  {:.4} ({}/{} clean cases flagged)",
            self.fpr(),
            self.negative_flagged,
            self.negative_cases
        )?;
        writeln!(
            f,
            "spurious findings in cases with PII: {}",
            self.spurious_in_positive
        )?;
        writeln!(
            f,
            "damage: {} bytes beyond labels in {} cases",
            self.damage_bytes, self.damaged_cases
        )?;
        if !self.groups.is_empty() {
            writeln!(
                f,
                "by group (identifier scheme, phone region; the lowest 12 and the count):"
            )?;
            let mut groups: Vec<_> = self.groups.iter().collect();
            groups.sort_by(|a, b| {
                let score =
                    |g: &GroupScore| ratio(g.recalled, g.labelled) - ratio(g.flagged, g.clean);
                score(a.1).total_cmp(&score(b.1)).then(a.0.cmp(b.0))
            });
            for (name, g) in groups.iter().take(12) {
                writeln!(
                    f,
                    "  {name:<24} recall {:.4} ({}/{})  clean flagged {}/{}",
                    ratio(g.recalled, g.labelled),
                    g.recalled,
                    g.labelled,
                    g.flagged,
                    g.clean
                )?;
            }
            let (n, worst) = (groups.len(), groups.first());
            if let Some((name, g)) = worst {
                writeln!(
                    f,
                    "  {n} groups; the lowest recall {:.4} ({name})",
                    ratio(g.recalled, g.labelled)
                )?;
            }
        }
        writeln!(f, "by source (cases, wrong):")?;
        for (src, (n, wrong)) in &self.by_source {
            writeln!(f, "  {src:<40} {n:>6} {wrong:>6}")?;
        }
        Ok(())
    }
}

/// Scores every `*.jsonl` file in `dir`.
pub(crate) fn evaluate(s: &Sanitizer, dir: &Path, show: bool) -> Result<Score, String> {
    let mut score = Score::default();
    let mut files: Vec<_> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.jsonl cases in {}", dir.display()));
    }
    for path in files {
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for (n, line) in text.lines().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
            let bad = || {
                format!(
                    "{}:{}: expected {{source, text, pii}}",
                    path.display(),
                    n + 1
                )
            };
            let source = v["source"].as_str().ok_or_else(bad)?;
            let case = v["text"].as_str().ok_or_else(bad)?;
            let labels = v["pii"]
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|p| Some((p[0].as_str()?.to_owned(), p[1].as_str()?.to_owned())))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(bad)?;
            score.add(source, case, &labels, s, show);
        }
    }
    Ok(score)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(cases: &[(&str, &[(&str, &str)])]) -> Score {
        let s = Sanitizer::default();
        let mut score = Score::default();
        for (text, labels) in cases {
            let labels: Vec<(String, String)> = labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            score.add("test:case", text, &labels, &s, true);
        }
        score
    }

    #[test]
    fn recall_false_positives_and_thresholds() {
        let s = score(&[
            ("mail ada@example.com now", &[("EMAIL", "ada@example.com")]),
            // Not found: a label the sanitizer cannot see.
            ("the word hunter2 alone", &[("SECRET", "hunter2")]),
            ("order 42 shipped", &[]),
            ("from 10.1.2.3", &[]),
        ]);
        assert_eq!((s.positive_cases, s.positive_recalled), (2, 1));
        assert_eq!((s.negative_cases, s.negative_flagged), (2, 1));
        assert_eq!(s.kinds["EMAIL"].recalled, 1);
        assert_eq!(s.kinds["SECRET"].recalled, 0);
        let failures = s.failures(0.99, 0.97, 0.005);
        assert!(
            failures.iter().any(|f| f.starts_with("case recall")),
            "{failures:?}"
        );
        assert!(
            failures.iter().any(|f| f.starts_with("false-positive")),
            "{failures:?}"
        );
        assert!(
            failures.iter().any(|f| f.starts_with("SECRET recall")),
            "{failures:?}"
        );
        assert!(s.misses.iter().any(|m| m.starts_with("MISS SECRET")));
        assert!(s.misses.iter().any(|m| m.starts_with("FALSE IP_ADDRESS")));
    }

    #[test]
    fn a_value_split_over_findings_is_covered_separators_aside() {
        let text = "ids 911-701234 91170-1234";
        let findings = vec![("SSN".to_owned(), 4..14), ("SSN".to_owned(), 15..25)];
        assert_eq!(covered(text, &findings, &(4..25)), Some("SSN"));
        assert_eq!(covered(text, &findings[..1], &(4..25)), None);
    }

    #[test]
    fn a_label_missing_from_its_text_fails_the_run() {
        let s = score(&[("nothing here", &[("EMAIL", "ada@example.com")])]);
        assert!(
            s.failures(0.0, 0.0, 1.0)
                .iter()
                .any(|f| f.contains("label is not in its case"))
        );
    }
}
