//! Fuzzes the `OTEL_*` configuration: any set of the standard variables
//! with any values (the TLS ones name files holding the input's bytes, so
//! the PEM parsing is fuzzed too). Reading them gives a configuration or an
//! error naming the variable; a configuration resolves an endpoint for
//! every signal and validates to `Ok` or an error. Never a panic.
#![no_main]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warden_otlp::{OtlpConfig, Signal};

/// The variables the exporter reads.
const NAMES: &[&str] = &[
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_SERVICE_NAME",
    "OTEL_EXPORTER_OTLP_INSECURE",
    "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
    "OTEL_EXPORTER_OTLP_LOGS_INSECURE",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BLRP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_MAX_CONCURRENT_EXPORTS",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_METRIC_EXPORT_INTERVAL",
    // Files: the value is written to one, and the variable names it.
    "OTEL_EXPORTER_OTLP_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY",
];

/// Where the file variables' contents go.
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("warden-fuzz-otel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    // Entries: a variable (by index), a length, that many bytes of value.
    let mut vars = HashMap::new();
    let mut rest = data;
    while let [index, len, tail @ ..] = rest {
        let name = NAMES[*index as usize % NAMES.len()];
        let len = (*len as usize).min(tail.len());
        let (value, after) = tail.split_at(len);
        rest = after;
        let value = if name.ends_with("CERTIFICATE") || name.ends_with("KEY") {
            let path = dir().join(name);
            std::fs::write(&path, value).expect("the file written");
            path.display().to_string()
        } else {
            String::from_utf8_lossy(value).into_owned()
        };
        vars.insert(name, value);
    }
    let config = match OtlpConfig::from_vars(|name| vars.get(name).cloned()) {
        Ok(config) => config,
        Err(error) => {
            let text = error.to_string();
            // A bad value is named by its variable.
            assert!(NAMES.iter().any(|n| text.contains(n)), "{text}");
            return;
        }
    };
    for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
        let _ = config.endpoint_for(signal);
        let _ = config.tls_for(signal);
    }
    let _ = config.validate();
});
