//! The names writers give their streams: which host wrote a chain, and a
//! random suffix so that two writers never share one.

// Used by the stores; with neither store built, by nothing.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

/// The host's name (`HOSTNAME`, else `/etc/hostname`), or `host`.
pub(crate) fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| "host".into())
}

/// Eight random hex digits.
pub(crate) fn random_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_printable_and_suffixes_differ() {
        assert!(host_name().bytes().all(|b| b.is_ascii_graphic()));
        assert_eq!(random_suffix().len(), 8);
        assert_ne!(random_suffix(), random_suffix());
    }
}
