//! Writing private keys to disk: readable by the owner alone, and durable
//! before anyone relies on them. The node's identity (`node.key`) and the
//! signing keys of `dht put --sign` are both written this way.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Writes `secret` to `path` as a new file only its owner can read (mode
/// 0600 on Unix): first to a temporary file beside it, synced, then renamed
/// over `path`, then the folder synced — so a crash leaves either no key or
/// the whole key, and a key once used survives a power cut. Creates the
/// parent folder if needed.
pub fn write_private(path: &Path, secret: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp); // a crash's leftover, of unknown mode
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(secret)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = dir {
        // Makes the rename durable; not every platform can open a folder.
        if let Ok(dir) = File::open(dir) {
            dir.sync_all()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_private_and_whole() {
        let dir = std::env::temp_dir().join(format!("dht-core-key-file-{}", std::process::id()));
        let path = dir.join("sub").join("node.key");
        write_private(&path, b"secret").expect("written");
        assert_eq!(std::fs::read(&path).expect("read"), b"secret");
        assert!(!path.with_extension("tmp").exists(), "the temporary file is gone");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "owner-only, not {mode:o}");
        }
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}
