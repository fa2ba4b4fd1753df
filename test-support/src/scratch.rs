//! A scratch directory removed when dropped.

use std::path::PathBuf;

/// A fresh directory under the system's temporary directory, removed with
/// everything in it when dropped.
#[derive(Debug)]
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// Creates the directory.
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("warden-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("a writable temporary directory");
        Scratch(dir)
    }

    /// A path inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
