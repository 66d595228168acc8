//! A participant's home: the identity key, sealed at rest under a key derived from the
//! passphrase (Argon2id → XChaCha20-Poly1305), and the storage key the home's store seals
//! its rows under. A wrong passphrase fails the AEAD and is reported as such; nothing is
//! ever written in the clear. The home is created owner-only (0700, files 0600).
//!
//! ```text
//! HOME/identity.json   name, public key, KDF parameters and salt, the sealed secret key
//! HOME/store.sqlite    the client's store (see `store`), every value sealed
//! HOME/lock            held while a process uses the home
//! HOME/state.sealed    the whole-state file of earlier versions, migrated on first open
//! ```

use std::fs::{self, File};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use backchannel_core::PublicKey;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::SigningKey;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::ClientError;

const IDENTITY_FILE: &str = "identity.json";
const LEGACY_STATE_FILE: &str = "state.sealed";
const LOCK_FILE: &str = "lock";
/// How long opening a home waits for another process to let go of it.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
const IDENTITY_FORMAT: &str = "backchannel-identity/1";
const LEGACY_STATE_AAD: &[u8] = b"backchannel/state/v1";
const KEY_AAD: &[u8] = b"backchannel/identity-key/v1";
/// The largest whole-state file of an earlier version this client migrates.
const MAX_LEGACY_STATE_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Serialize, Deserialize)]
struct IdentityFile {
    format: String,
    name: String,
    public_key: PublicKey,
    kdf: KdfParams,
    #[serde(with = "backchannel_core::b64")]
    sealed_key: Vec<u8>,
}

#[derive(Clone, Serialize, Deserialize)]
struct KdfParams {
    alg: String,
    m_kib: u32,
    t: u32,
    p: u32,
    #[serde(with = "backchannel_core::b64")]
    salt: Vec<u8>,
}

impl KdfParams {
    fn fresh() -> Self {
        let mut salt = vec![0u8; 16];
        rand::thread_rng().fill_bytes(&mut salt);
        // OWASP's Argon2id baseline: 19 MiB, 2 passes, 1 lane.
        Self {
            alg: "argon2id".into(),
            m_kib: 19 * 1024,
            t: 2,
            p: 1,
            salt,
        }
    }

    fn derive(&self, passphrase: &str, path: &Path) -> Result<Zeroizing<[u8; 32]>, ClientError> {
        let bad = |why: &str| ClientError::Home {
            path: path.display().to_string(),
            why: why.into(),
        };
        // Bounded so that a tampered identity file cannot make opening it take gigabytes or
        // minutes before the passphrase check.
        if self.alg != "argon2id" || self.m_kib > 256 * 1024 || self.t > 16 || self.p > 8 {
            return Err(bad("the key derivation parameters are unsupported"));
        }
        let params = Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|_| bad("bad KDF parameters"))?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), &self.salt, key.as_mut())
            .map_err(|_| bad("the key derivation failed"))?;
        Ok(key)
    }
}

fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new(key.into());
    // Encryption with a valid key and nonce cannot fail.
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default();
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    out
}

fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < 24 + 16 {
        return None;
    }
    let (nonce, body) = sealed.split_at(24);
    XChaCha20Poly1305::new(key.into())
        .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad })
        .ok()
}

/// Seals `plaintext` under a 32-byte symmetric key (used for the case-wide public record).
pub fn seal_with(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    seal(key, aad, plaintext)
}

/// Opens what [`seal_with`] sealed; `None` if it was altered or sealed under another key.
pub fn open_with(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    open(key, aad, sealed)
}

/// A participant's identity: a name and an Ed25519 key. `Debug` never shows the secret.
pub struct Identity {
    pub name: String,
    pub key: SigningKey,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Identity({}, {:?}, secret redacted)",
            self.name,
            self.public_key()
        )
    }
}

impl Identity {
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key().to_bytes())
    }
}

/// An open home: the identity, the derived storage key and the lock.
pub struct Vault {
    dir: PathBuf,
    pub identity: Identity,
    storage_key: Zeroizing<[u8; 32]>,
    _lock: File,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault({}, {:?})", self.dir.display(), self.identity)
    }
}

fn home_error(dir: &Path, why: impl std::fmt::Display) -> ClientError {
    ClientError::Home {
        path: dir.display().to_string(),
        why: why.to_string(),
    }
}

fn lock(dir: &Path) -> Result<File, ClientError> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(dir.join(LOCK_FILE))
        .map_err(|e| home_error(dir, e))?;
    // Another process's command is over in a moment; a running UI holds the home for good.
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(ClientError::HomeBusy(dir.display().to_string()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(home_error(dir, e)),
        }
    }
}

/// Creates `path` empty, readable by its owner only, unless it exists.
pub(crate) fn create_private_file(path: &Path) -> std::io::Result<()> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

/// Creates the home folder, owner-only; an existing one is narrowed to its owner.
fn create_home(dir: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// Writes `bytes` to `path` atomically: a temporary file (owner-only), synced, renamed, and
/// the folder synced so that the rename itself survives a crash.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = File::options()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    match path.parent() {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// A participant's display name or a party's name: 1 to `MAX_NAME_CHARS` characters
/// (`invalid_name`), none of them a control, invisible or direction-changing character that
/// could pass it off as another name (`deceptive_name`: "Iran" spelt with U+202E).
pub(crate) fn check_name(name: &str) -> Result<(), ClientError> {
    let max = backchannel_core::api::MAX_NAME_CHARS;
    let chars = name.chars().count();
    if chars == 0 || chars > max {
        return Err(ClientError::Unmatched {
            code: "invalid_name",
            message: format!("a name is 1 to {max} characters"),
        });
    }
    if name.chars().any(backchannel_core::ids::is_deceptive) {
        return Err(ClientError::Unmatched {
            code: "deceptive_name",
            message: format!(
                "the name {:?} holds control, invisible or direction-changing characters that could pass it off as another",
                name.escape_default().to_string()
            ),
        });
    }
    Ok(())
}

impl Vault {
    /// Creates a new identity in `dir` (created if needed); refuses to overwrite one.
    pub fn create(dir: &Path, name: &str, passphrase: &str) -> Result<Self, ClientError> {
        check_name(name)?;
        if passphrase.is_empty() {
            return Err(ClientError::Invalid(
                "the passphrase must not be empty".into(),
            ));
        }
        create_home(dir).map_err(|e| home_error(dir, e))?;
        let lock = lock(dir)?;
        if dir.join(IDENTITY_FILE).exists() {
            return Err(ClientError::IdentityExists(dir.display().to_string()));
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::thread_rng().fill_bytes(seed.as_mut());
        let key = SigningKey::from_bytes(&seed);
        let kdf = KdfParams::fresh();
        let storage_key = kdf.derive(passphrase, dir)?;
        let identity = Identity {
            name: name.to_owned(),
            key,
        };
        let file = IdentityFile {
            format: IDENTITY_FORMAT.into(),
            name: name.to_owned(),
            public_key: identity.public_key(),
            kdf,
            sealed_key: seal(&storage_key, KEY_AAD, seed.as_ref()),
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| home_error(dir, e))?;
        write_atomic(&dir.join(IDENTITY_FILE), &json).map_err(|e| home_error(dir, e))?;
        Ok(Self {
            dir: dir.to_owned(),
            identity,
            storage_key,
            _lock: lock,
        })
    }

    /// Opens the identity in `dir` with `passphrase`.
    pub fn open(dir: &Path, passphrase: &str) -> Result<Self, ClientError> {
        let path = dir.join(IDENTITY_FILE);
        if !path.exists() {
            return Err(ClientError::NoIdentity(dir.display().to_string()));
        }
        let lock = lock(dir)?;
        let bytes = fs::read(&path).map_err(|e| home_error(dir, e))?;
        let file: IdentityFile = serde_json::from_slice(&bytes)
            .map_err(|e| home_error(dir, format!("identity.json is malformed: {e}")))?;
        if file.format != IDENTITY_FORMAT {
            return Err(home_error(
                dir,
                format!("identity.json is of unknown format {:?}", file.format),
            ));
        }
        let storage_key = file.kdf.derive(passphrase, dir)?;
        let seed = open(&storage_key, KEY_AAD, &file.sealed_key)
            .ok_or_else(|| ClientError::WrongPassphrase(dir.display().to_string()))?;
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            seed.as_slice()
                .try_into()
                .map_err(|_| home_error(dir, "the sealed key is malformed"))?,
        );
        let key = SigningKey::from_bytes(&seed);
        if PublicKey(key.verifying_key().to_bytes()) != file.public_key {
            return Err(home_error(
                dir,
                "the sealed key does not match the public key",
            ));
        }
        Ok(Self {
            dir: dir.to_owned(),
            identity: Identity {
                name: file.name,
                key,
            },
            storage_key,
            _lock: lock,
        })
    }

    /// Reads the public half of the identity in `dir` without the passphrase.
    pub fn peek(dir: &Path) -> Result<(String, PublicKey), ClientError> {
        let path = dir.join(IDENTITY_FILE);
        let bytes =
            fs::read(&path).map_err(|_| ClientError::NoIdentity(dir.display().to_string()))?;
        let file: IdentityFile = serde_json::from_slice(&bytes)
            .map_err(|e| home_error(dir, format!("identity.json is malformed: {e}")))?;
        Ok((file.name, file.public_key))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key the home's store seals its rows under.
    pub(crate) fn storage_key(&self) -> &[u8; 32] {
        &self.storage_key
    }

    fn legacy_aad(&self) -> Vec<u8> {
        let mut aad = LEGACY_STATE_AAD.to_vec();
        aad.extend_from_slice(&self.identity.public_key().0);
        aad
    }

    /// The whole-state file an earlier version kept, opened, or `None` if there is none.
    pub(crate) fn legacy_state(&self) -> Result<Option<Vec<u8>>, ClientError> {
        let path = self.dir.join(LEGACY_STATE_FILE);
        let Ok(meta) = fs::metadata(&path) else {
            return Ok(None);
        };
        if meta.len() > MAX_LEGACY_STATE_BYTES {
            return Err(home_error(&self.dir, "state.sealed is over its size limit"));
        }
        let sealed = fs::read(&path).map_err(|e| home_error(&self.dir, e))?;
        let plain = open(&self.storage_key, &self.legacy_aad(), &sealed).ok_or_else(|| {
            home_error(
                &self.dir,
                "state.sealed does not open: it was altered or belongs to another identity",
            )
        })?;
        Ok(Some(plain))
    }

    /// Removes the migrated whole-state file (after its content is committed to the store).
    pub(crate) fn retire_legacy_state(&self) -> Result<(), ClientError> {
        let path = self.dir.join(LEGACY_STATE_FILE);
        fs::remove_file(&path).map_err(|e| home_error(&self.dir, e))?;
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| home_error(&self.dir, e))
    }

    /// Writes a whole-state file as earlier versions did: for the migration's tests only.
    #[doc(hidden)]
    pub fn write_legacy_state(&self, plain: &[u8]) -> Result<(), ClientError> {
        let sealed = seal(&self.storage_key, &self.legacy_aad(), plain);
        write_atomic(&self.dir.join(LEGACY_STATE_FILE), &sealed)
            .map_err(|e| home_error(&self.dir, e))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn create_open_and_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let created = Vault::create(dir.path(), "Pakistan", "correct horse").unwrap();
        let key = created.identity.public_key();
        created.write_legacy_state(b"secret state").unwrap();
        drop(created);

        let raw = fs::read(dir.path().join(IDENTITY_FILE)).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("secret"));
        let err = Vault::open(dir.path(), "wrong horse").unwrap_err();
        assert_eq!(err.code(), "wrong_passphrase");

        let opened = Vault::open(dir.path(), "correct horse").unwrap();
        assert_eq!(opened.identity.public_key(), key);
        assert_eq!(
            opened.legacy_state().unwrap().as_deref(),
            Some(&b"secret state"[..])
        );
        assert!(
            !format!("{:?}", opened.identity)
                .contains(&hex::encode(opened.identity.key.to_bytes()))
        );
    }

    #[test]
    fn refuses_to_overwrite_and_reports_missing() {
        let dir = tempfile::tempdir().unwrap();
        drop(Vault::create(dir.path(), "A", "p").unwrap());
        assert_eq!(
            Vault::create(dir.path(), "B", "p").unwrap_err().code(),
            "identity_exists"
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            Vault::open(empty.path(), "p").unwrap_err().code(),
            "no_identity"
        );
    }

    #[test]
    fn a_tampered_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::create(dir.path(), "A", "p").unwrap();
        vault.write_legacy_state(b"state").unwrap();
        let path = dir.path().join(LEGACY_STATE_FILE);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, bytes).unwrap();
        assert_eq!(vault.legacy_state().unwrap_err().code(), "home_unusable");
    }
}
