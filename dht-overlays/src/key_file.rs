//! Signing keys kept in files: what `dht put --sign FILE` reads or creates.
//! A file holds one Ed25519 private key in PKCS#8 DER, the same form as a
//! node's identity key, and is written so that a crash never leaves half a
//! key.

use dht_core::{KeyError, SigningKey};
use std::path::{Path, PathBuf};

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file does not hold an Ed25519 private key.
    #[error("key file {path}: {source}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong with its contents.
        source: KeyError,
    },
}

/// The key in `path`.
pub fn load(path: &Path) -> Result<SigningKey, KeyFileError> {
    let der = std::fs::read(path).map_err(|source| KeyFileError::Io { path: path.into(), source })?;
    SigningKey::from_pkcs8(&der).map_err(|source| KeyFileError::Key { path: path.into(), source })
}

/// The key in `path`, or a new one saved there; `true` when it was created.
/// An existing file that is not a key is an error and is left untouched.
pub fn load_or_create(path: &Path) -> Result<(SigningKey, bool), KeyFileError> {
    match load(path) {
        Err(KeyFileError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            let io = |source| KeyFileError::Io { path: path.into(), source };
            let (key, der) =
                SigningKey::generate().map_err(|source| KeyFileError::Key { path: path.into(), source })?;
            dht_core::key_file::write_private(path, &der).map_err(io)?;
            Ok((key, true))
        }
        other => other.map(|key| (key, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_created_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("dht-key-file-{}", std::process::id()));
        let path = dir.join("nested").join("my.key");
        let (key, created) = load_or_create(&path).unwrap();
        assert!(created);
        let (again, created) = load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(again.public(), key.public());
        std::fs::write(&path, b"garbage").unwrap();
        assert!(matches!(load_or_create(&path), Err(KeyFileError::Key { .. })));
        assert_eq!(std::fs::read(&path).unwrap(), b"garbage", "a bad file is left as it was");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
