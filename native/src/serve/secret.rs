//! The broker's secret for SCRAM's mock credentials
//! ([`spate_core::security::SecurityConfig::scram_mock_secret`]).
//!
//! An unknown SCRAM user is answered with a salt derived from this secret
//! and the name. To look like a stored salt, it must be the same on every
//! connection and after a restart, so the secret is kept in the data
//! directory, `<dir>/scram-mock-secret` (32 bytes, owner-only). A broker
//! with `--memory` has no directory: its secret lasts as long as the
//! process.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use anyhow::{bail, Context as _, Result};

/// The file's name in the data directory.
const FILE: &str = "scram-mock-secret";

/// The secret kept in `dir` (made on first use), or a fresh one without a
/// directory.
pub(crate) fn scram_mock_secret(dir: Option<&Path>) -> Result<[u8; 32]> {
    let Some(dir) = dir else {
        return fresh();
    };
    let path = dir.join(FILE);
    match fs::read(&path) {
        Ok(bytes) => match <[u8; 32]>::try_from(bytes.as_slice()) {
            Ok(secret) => Ok(secret),
            Err(_) => bail!(
                "{} holds {} bytes, not 32: remove it to make a new secret",
                path.display(),
                bytes.len()
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = fresh()?;
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            // Written aside and renamed, so a crash leaves no short file.
            let tmp = dir.join(format!("{FILE}.tmp"));
            let mut options = fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(&tmp)
                .with_context(|| format!("writing {}", tmp.display()))?;
            file.write_all(&secret)?;
            file.sync_all()?;
            fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
            Ok(secret)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// 32 bytes from the OS random source.
fn fresh() -> Result<[u8; 32]> {
    let mut secret = [0; 32];
    getrandom::getrandom(&mut secret)
        .map_err(|e| anyhow::anyhow!("reading the OS random source: {e}"))?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_in_the_directory_across_restarts() {
        let dir = std::env::temp_dir().join(format!("spate-secret-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let first = scram_mock_secret(Some(&dir)).unwrap();
        assert_eq!(scram_mock_secret(Some(&dir)).unwrap(), first);
        assert_ne!(first, [0; 32]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(dir.join(FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Without a directory, each broker process gets its own.
        assert_ne!(scram_mock_secret(None).unwrap(), first);
        // A damaged file is an error, not a silently new secret.
        fs::write(dir.join(FILE), b"short").unwrap();
        let e = scram_mock_secret(Some(&dir)).unwrap_err().to_string();
        assert!(e.contains("holds 5 bytes"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
