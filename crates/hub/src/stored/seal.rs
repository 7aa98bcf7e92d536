//! Users' secret keys sealed under the hub key where the database itself is not encrypted (a
//! PostgreSQL server): the hub keeps each user's device key pair so that a new PIN wraps the
//! same pair again, and that secret, with a stolen tablet's keyring, would open the tablet's
//! store without the PIN. In the SQLite file SQLCipher already encrypts it with the hub key.
//!
//! Sealed: `KSK1`, a 24-byte nonce, the key under XChaCha20-Poly1305 (48 bytes). The sealing
//! key comes from `KABINET_HUB_KEY`: a raw key through SHA-256 with this module's label, a
//! passphrase through argon2id with a salt kept in the database's meta.

use crate::storage::HubError;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use kabinet_store::StoreKey;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const MAGIC: &[u8; 4] = b"KSK1";
const NONCE: usize = 24;

/// The meta key of the salt a passphrase's sealing key is derived with.
pub(super) const SALT_META: &str = "hub.seal_salt";

pub(crate) struct Seal {
    cipher: XChaCha20Poly1305,
}

impl Seal {
    /// The sealing key of `key` (with `salt` for a passphrase).
    pub(super) fn new(key: &StoreKey, salt: &[u8]) -> Result<Seal, HubError> {
        let mut derived = Zeroizing::new([0u8; 32]);
        match key {
            StoreKey::Raw(raw) => {
                let mut h = Sha256::new();
                h.update(b"kabinet hub: users' secret keys, sealed v1");
                h.update(raw);
                derived.copy_from_slice(&h.finalize());
            }
            StoreKey::Passphrase(p) => {
                argon2::Argon2::default()
                    .hash_password_into(p.as_bytes(), salt, derived.as_mut())
                    .map_err(|e| HubError::Seal(format!("deriving the sealing key: {e}")))?;
            }
        }
        Ok(Seal {
            cipher: XChaCha20Poly1305::new(derived.as_ref().into()),
        })
    }

    pub(super) fn seal(&self, secret: &[u8; 32]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, secret.as_slice())
            .expect("sealing 32 bytes cannot fail");
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE + sealed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    fn open(&self, stored: &[u8]) -> Result<Zeroizing<[u8; 32]>, HubError> {
        let body = &stored[MAGIC.len()..];
        if body.len() != NONCE + 48 {
            return Err(HubError::Seal(
                "a sealed secret key of the wrong length".into(),
            ));
        }
        let (nonce, sealed) = body.split_at(NONCE);
        let plain = Zeroizing::new(
            self.cipher
                .decrypt(XNonce::from_slice(nonce), sealed)
                .map_err(|_| {
                    HubError::Seal(
                        "a user's secret key does not open with this hub key (KABINET_HUB_KEY is not the one it was sealed with)"
                            .into(),
                    )
                })?,
        );
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&plain);
        Ok(out)
    }
}

/// Whether `stored` is sealed.
pub(super) fn is_sealed(stored: &[u8]) -> bool {
    stored.starts_with(MAGIC)
}

/// A secret key as stored: sealed (opened with `seal`), or the 32 bytes themselves (the
/// SQLite file, which SQLCipher encrypts whole). `None` for anything else.
pub(super) fn open_secret(
    seal: Option<&Seal>,
    stored: &[u8],
) -> Result<Option<Zeroizing<[u8; 32]>>, HubError> {
    if is_sealed(stored) {
        let seal = seal.ok_or_else(|| {
            HubError::Seal("a sealed secret key, and no hub key to open it".into())
        })?;
        return seal.open(stored).map(Some);
    }
    Ok(<[u8; 32]>::try_from(stored).ok().map(Zeroizing::new))
}

/// A secret key as it is stored: sealed when there is a seal.
pub(super) fn store_secret(seal: Option<&Seal>, secret: &[u8; 32]) -> Vec<u8> {
    match seal {
        Some(s) => s.seal(secret),
        None => secret.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_with_its_hub_key_only() {
        let secret = [7u8; 32];
        for key in [
            StoreKey::Raw([1; 32]),
            StoreKey::Passphrase("hub passphrase".into()),
        ] {
            let seal = Seal::new(&key, b"salt of 16 bytes").unwrap();
            let stored = store_secret(Some(&seal), &secret);
            assert!(is_sealed(&stored));
            assert!(
                !stored.windows(32).any(|w| w == secret),
                "the key itself is not in what is stored"
            );
            assert_eq!(*open_secret(Some(&seal), &stored).unwrap().unwrap(), secret);
            let other = Seal::new(&StoreKey::Raw([2; 32]), b"salt of 16 bytes").unwrap();
            assert!(matches!(
                open_secret(Some(&other), &stored),
                Err(HubError::Seal(_))
            ));
            assert!(open_secret(None, &stored).is_err(), "no key, no secret");
        }
        // Unsealed (the SQLite file's) keys read as they are.
        assert_eq!(*open_secret(None, &secret).unwrap().unwrap(), secret);
    }
}
