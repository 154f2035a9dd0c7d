//! The secret the `user` field's tags are keyed with (`analytics::event::UserTagKey`),
//! read once at start: from the variable `analytics.user_tag_secret_env` names
//! (already read by `config`), or from a file, which is created with 32 random
//! bytes (hex, mode 0600) the first time, atomically. The secret is never logged, and never
//! stored with the events it keys.
//!
//! Every gateway writing to one store must key tags alike, or one user gets a tag
//! per replica; with Postgres a generated per-machine file is therefore only a
//! fallback, and `gateway check-config` and `serve` warn about it (`checks`).

use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use analytics::event::UserTagKey;

use crate::config::UserTagSecret;

/// Shortest secret accepted from a file (bytes, after trimming whitespace).
const MIN_SECRET_BYTES: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum UserTagSecretError {
    #[error("user tag secret file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("user tag secret file {path} holds fewer than {MIN_SECRET_BYTES} bytes")]
    TooShort { path: PathBuf },
    #[error("no OS randomness for a user tag secret: {0}")]
    Random(getrandom::Error),
}

/// The key `source` describes, creating its file if needed.
pub fn load(source: &UserTagSecret) -> Result<UserTagKey, UserTagSecretError> {
    match source {
        UserTagSecret::Env { value, .. } => Ok(UserTagKey::new(value.expose().as_bytes())),
        UserTagSecret::File { path, .. } => read_or_create(path).map(|s| UserTagKey::new(&s)),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> UserTagSecretError + '_ {
    move |source| UserTagSecretError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The secret in `path`; if there is no such file, a new random one written there.
fn read_or_create(path: &Path) -> Result<Vec<u8>, UserTagSecretError> {
    match std::fs::read(path) {
        Ok(bytes) => return secret_in(path, &bytes),
        Err(error) if error.kind() == ErrorKind::NotFound => {}
        Err(error) => return Err(io(path)(error)),
    }
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(UserTagSecretError::Random)?;
    let text: String = random.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(path))?;
    }
    // Written whole to a file of its own, then linked into place, which fails
    // if the name exists: a crash never leaves a half-written secret, and two
    // gateways starting together end up with the same one.
    let staging = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&staging).and_then(|mut file| {
        file.write_all(format!("{text}\n").as_bytes())?;
        file.sync_all()
    });
    if let Err(error) = written {
        let _ = std::fs::remove_file(&staging);
        return Err(io(path)(error));
    }
    let linked = std::fs::hard_link(&staging, path);
    let _ = std::fs::remove_file(&staging);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated the secret that keys `user` tags");
            Ok(text.into_bytes())
        }
        // Another gateway sharing the directory created it first: use theirs.
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {
            let bytes = std::fs::read(path).map_err(io(path))?;
            secret_in(path, &bytes)
        }
        // A file system without hard links: create it in place instead.
        Err(_) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(io(path))?;
            file.write_all(format!("{text}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(io(path))?;
            Ok(text.into_bytes())
        }
    }
}

fn secret_in(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, UserTagSecretError> {
    let secret = bytes.trim_ascii();
    if secret.len() < MIN_SECRET_BYTES {
        return Err(UserTagSecretError::TooShort {
            path: path.to_owned(),
        });
    }
    Ok(secret.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "gateway-user-tags-{}",
            crate::keys::mint().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_generated_secret_is_kept_and_reused() {
        let dir = temp_dir();
        let path = dir.join("sub").join("gateway-user-tag.key");
        let source = UserTagSecret::File {
            path: path.clone(),
            configured: false,
        };
        let first = load(&source).unwrap().tag("alice@example.com");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 64, "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The next start (or another gateway on this disk) keys tags alike.
        assert_eq!(load(&source).unwrap().tag("alice@example.com"), first);
        // A fresh file is a fresh secret.
        std::fs::remove_file(&path).unwrap();
        assert_ne!(load(&source).unwrap().tag("alice@example.com"), first);
        // Nothing else is left in the directory (no staging file).
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["gateway-user-tag.key"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn secrets_from_the_environment_or_a_file_are_used_as_given() {
        let dir = temp_dir();
        let path = dir.join("shared.key");
        std::fs::write(&path, "a shared secret of some length\n").unwrap();
        let from_file = load(&UserTagSecret::File {
            path: path.clone(),
            configured: true,
        })
        .unwrap();
        let from_env = load(&UserTagSecret::Env {
            name: "X".into(),
            value: Secret::new("a shared secret of some length".into()),
        })
        .unwrap();
        let expected = UserTagKey::new(b"a shared secret of some length").tag("bob");
        assert_eq!(from_file.tag("bob"), expected);
        assert_eq!(from_env.tag("bob"), expected);
        std::fs::write(&path, "short\n").unwrap();
        let error = load(&UserTagSecret::File {
            path,
            configured: true,
        })
        .unwrap_err();
        assert!(
            matches!(error, UserTagSecretError::TooShort { .. }),
            "{error}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
