//! The real log samples: no redaction but network addresses (IP and MAC) and email
//! addresses, and every IP found.
//!
//! MAC addresses count with IP addresses here: in these samples they are Wi-Fi access points'
//! BSSIDs (`bssid 5c:50:15:4c:18:13`), hardware identifiers that locate the device that saw them,
//! which is why `MAC_ADDRESS` is a kind. They are counted and listed apart, not hidden.

use std::fmt;
use std::fs;
use std::path::Path;

use warden_pii::{PiiKind, Sanitizer};

/// What the sanitizer did to the log samples.
#[derive(Default)]
pub(crate) struct Report {
    files: Vec<(String, usize, usize, usize)>,
    /// MAC addresses found, as printable lines.
    macs: Vec<String>,
    /// Redactions of kinds other than IP and email, as printable lines.
    other: Vec<String>,
    /// Reference IPv4 addresses left in clear.
    missed_ips: Vec<String>,
}

/// Whether the text before `i` says that what starts there is a version: a package identity's
/// `~` (`~amd64~~6.1.1.0`), or the word `version` or `ver` with at most a few bytes of `=`, `:`
/// and spaces between (`version=1.2.8.57`).
fn after_version_word(b: &[u8], i: usize) -> bool {
    if i > 0 && b[i - 1] == b'~' {
        return true;
    }
    let text = String::from_utf8_lossy(&b[..i]).to_ascii_lowercase();
    let trimmed = text.trim_end_matches([' ', '=', ':']);
    if trimmed.len() == text.len() || text.len() - trimmed.len() > 2 {
        return false;
    }
    ["version", "ver"].iter().any(|w| {
        trimmed.ends_with(w)
            && !trimmed[..trimmed.len() - w.len()]
                .ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The IPv4 addresses a strict reading finds in `line`: four decimal octets (0-255, no leading
/// zeros), not part of a longer dotted number or a word, not a version (after `~` or the word
/// version), not loopback (127/8) or this-network (0/8), which identify no one.
fn reference_ipv4(line: &str) -> Vec<std::ops::Range<usize>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let boundary = i == 0
            || !(b[i - 1].is_ascii_alphanumeric()
                || b[i - 1] == b'.'
                || b[i - 1] == b'_'
                || after_version_word(b, i));
        if !b[i].is_ascii_digit() || !boundary {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut octets = Vec::new();
        loop {
            let s = j;
            while j < b.len() && b[j].is_ascii_digit() && j - s < 4 {
                j += 1;
            }
            let part = &line[s..j];
            let ok = !part.is_empty() && part.len() <= 3 && (part == "0" || !part.starts_with('0'));
            if !ok || part.parse::<u32>().map_or(true, |v| v > 255) {
                octets.clear();
                break;
            }
            octets.push(part.parse::<u32>().unwrap_or(0));
            if octets.len() == 4 || j >= b.len() || b[j] != b'.' {
                break;
            }
            j += 1;
        }
        let after_ok = j >= b.len()
            || !(b[j].is_ascii_alphanumeric()
                || b[j] == b'_'
                || (b[j] == b'.' && b.get(j + 1).is_some_and(u8::is_ascii_digit)));
        if octets.len() == 4 && after_ok && octets[0] != 127 && octets[0] != 0 {
            out.push(i..j);
        }
        i = j.max(i + 1);
    }
    out
}

/// Runs the sanitizer over every `*.log` file in `dir`.
pub(crate) fn evaluate(s: &Sanitizer, dir: &Path) -> Result<Report, String> {
    let mut report = Report::default();
    let mut files: Vec<_> = fs::read_dir(dir)
        .map_err(|e| {
            format!(
                "{}: {e} (the loghub samples live in ../shared/corpora/loghub)",
                dir.display()
            )
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    for path in files {
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (mut ips, mut emails, mut lines) = (0, 0, 0);
        for (n, line) in text.lines().enumerate() {
            lines += 1;
            let found = s.findings(line);
            for f in &found {
                match f.kind {
                    PiiKind::IpAddress => ips += 1,
                    PiiKind::Email => emails += 1,
                    PiiKind::MacAddress => {
                        report
                            .macs
                            .push(format!("{name}:{}: {:?}", n + 1, &line[f.range.clone()]))
                    }
                    _ => report.other.push(format!(
                        "{name}:{}: {} {:?} in {line:?}",
                        n + 1,
                        f.kind,
                        &line[f.range.clone()]
                    )),
                }
            }
            for r in reference_ipv4(line) {
                let hit = found.iter().any(|f| {
                    f.kind == PiiKind::IpAddress && f.range.start <= r.start && r.end <= f.range.end
                });
                if !hit {
                    report
                        .missed_ips
                        .push(format!("{name}:{}: {:?} in {line:?}", n + 1, &line[r]));
                }
            }
        }
        report.files.push((name, lines, ips, emails));
    }
    if report.files.is_empty() {
        return Err(format!("no *.log files in {}", dir.display()));
    }
    Ok(report)
}

impl Report {
    /// What falls short: any other redaction, any IP left in clear.
    pub(crate) fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.other.is_empty() {
            out.push(format!(
                "{} redactions other than network and email addresses in the log samples",
                self.other.len()
            ));
        }
        if !self.missed_ips.is_empty() {
            out.push(format!(
                "{} IP addresses left in clear in the log samples",
                self.missed_ips.len()
            ));
        }
        out
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "\nloghub samples")?;
        writeln!(
            f,
            "{:<22} {:>6} {:>6} {:>6}",
            "file", "lines", "ip", "email"
        )?;
        for (name, lines, ips, emails) in &self.files {
            writeln!(f, "{name:<22} {lines:>6} {ips:>6} {emails:>6}")?;
        }
        writeln!(
            f,
            "MAC addresses (network hardware addresses, allowed): {}",
            self.macs.len()
        )?;
        for m in self.macs.iter().take(5) {
            writeln!(f, "  {m}")?;
        }
        if self.macs.len() > 5 {
            writeln!(f, "  … and {} more", self.macs.len() - 5)?;
        }
        writeln!(
            f,
            "redactions other than network and email addresses: {}",
            self.other.len()
        )?;
        for o in &self.other {
            writeln!(f, "  {o}")?;
        }
        writeln!(f, "IPs left in clear: {}", self.missed_ips.len())?;
        for m in &self.missed_ips {
            writeln!(f, "  {m}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::reference_ipv4;

    #[test]
    fn the_reference_reading() {
        let got = |s: &str| {
            reference_ipv4(s)
                .into_iter()
                .map(|r| s[r].to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            got("from 10.1.2.3:50010 to /192.168.0.1"),
            ["10.1.2.3", "192.168.0.1"]
        );
        assert!(
            got("version 1.2.3.4.5 and 127.0.0.1 and 0.0.0.0 and 256.1.1.1 and 01.2.3.4")
                .is_empty()
        );
        assert!(got("v1.2.3.4 and a1.2.3.4").is_empty());
        assert!(got("productID=com.google.Keystone version=1.2.8.57 xc=1").is_empty());
        assert!(got("Package_for_KB3121255~31bf3856ad364e35~amd64~~6.1.1.0").is_empty());
        assert_eq!(got("conversion 10.1.2.3, Version: 1.2.3.4"), ["10.1.2.3"]);
    }
}
