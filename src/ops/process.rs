//! `process_*` metrics where they are cheap: read from `/proc` on Linux.

use warden_metrics::ExpositionFormat;

/// Appends `process_resident_memory_bytes`, `process_cpu_seconds_total`,
/// `process_open_fds`, `process_threads` and `process_start_time_seconds`
/// (Linux; nothing elsewhere).
pub(super) fn write(format: ExpositionFormat, out: &mut String) {
    #[cfg(target_os = "linux")]
    linux::write(format, out);
    #[cfg(not(target_os = "linux"))]
    let _ = (format, out);
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fmt::Write as _;

    use warden_metrics::ExpositionFormat;

    /// Clock ticks per second of `/proc`'s CPU times (USER_HZ: 100 on
    /// every Linux architecture warden runs on).
    const TICKS: f64 = 100.0;
    const PAGE: f64 = 4096.0;

    fn family(
        out: &mut String,
        name: &str,
        kind: &str,
        help: &str,
        value: f64,
        format: ExpositionFormat,
    ) {
        let family = match (kind, format) {
            ("counter", ExpositionFormat::OpenMetrics) => name.trim_end_matches("_total"),
            _ => name,
        };
        let _ = writeln!(
            out,
            "# HELP {family} {help}\n# TYPE {family} {kind}\n{name} {value}"
        );
    }

    pub(super) fn write(format: ExpositionFormat, out: &mut String) {
        let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
            return;
        };
        // Fields after the command (which may hold spaces), from field 3.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            return;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
        if let (Some(utime), Some(stime)) = (field(14), field(15)) {
            family(
                out,
                "process_cpu_seconds_total",
                "counter",
                "User and system CPU time spent in seconds.",
                (utime + stime) / TICKS,
                format,
            );
        }
        if let Some(threads) = field(20) {
            family(
                out,
                "process_threads",
                "gauge",
                "Number of OS threads in the process.",
                threads,
                format,
            );
        }
        if let Some(rss) = field(24) {
            family(
                out,
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
                rss * PAGE,
                format,
            );
        }
        let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<f64>().ok())
        });
        if let (Some(boot), Some(start)) = (boot, field(22)) {
            family(
                out,
                "process_start_time_seconds",
                "gauge",
                "Start time of the process since unix epoch in seconds.",
                boot + start / TICKS,
                format,
            );
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            family(
                out,
                "process_open_fds",
                "gauge",
                "Number of open file descriptors.",
                fds.count() as f64,
                format,
            );
        }
    }
}
