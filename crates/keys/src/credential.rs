//! A user's credential, as the hub makes it and every device of the user's role receives it:
//! an X25519 key pair whose secret half is wrapped (XChaCha20-Poly1305) by a key derived from
//! the user's password or PIN with argon2id. A device seals its store key to the public half,
//! so it can add a user it has never seen log in, offline, and only that user's secret opens it.
//! Nothing in a credential lets anyone without the secret open anything.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// Shortest password or PIN accepted. A device holds what an attacker needs to guess offline,
/// so the secret's length (with argon2's cost) is what protects a stolen tablet.
pub const MIN_SECRET_CHARS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the password or PIN must have at least {min} characters")]
    TooShort { min: usize },
    #[error("wrong password or PIN")]
    WrongSecret,
    #[error("damaged key material: {0}")]
    Damaged(&'static str),
}

/// argon2id cost, stored with each credential so it can be raised for new ones later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Hex.
    pub salt: String,
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl KdfParams {
    /// 64 MiB, 3 passes: about half a second on a tablet, per guess.
    fn fresh() -> KdfParams {
        let salt: [u8; 16] = rand_bytes();
        KdfParams {
            salt: hex::encode(salt),
            m_kib: 64 * 1024,
            t: 3,
            p: 1,
        }
    }

    fn derive(&self, secret: &str) -> Result<Zeroizing<[u8; 32]>, KeyError> {
        let salt = hex::decode(&self.salt).map_err(|_| KeyError::Damaged("salt"))?;
        let params = Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|_| KeyError::Damaged("argon2 parameters"))?;
        let mut out = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(secret.as_bytes(), &salt, out.as_mut())
            .map_err(|_| KeyError::Damaged("argon2 input"))?;
        Ok(out)
    }
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    use chacha20poly1305::aead::rand_core::RngCore;
    let mut b = [0u8; N];
    OsRng.fill_bytes(&mut b);
    b
}

/// What devices receive about a user's keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCredential {
    pub kdf: KdfParams,
    /// X25519 public key, hex.
    pub public_key: String,
    /// Nonce (24 bytes) and the wrapped secret key, hex.
    pub wrapped_secret_key: String,
}

/// A user's X25519 secret key, wiped from memory when dropped.
#[derive(Clone, Zeroize)]
#[zeroize(drop)]
pub struct UserSecretKey([u8; 32]);

impl UserSecretKey {
    pub fn from_bytes(b: [u8; 32]) -> UserSecretKey {
        UserSecretKey(b)
    }
    /// The key's bytes (the hub keeps them to rewrap the key), wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0)
    }
    fn box_key(&self) -> crypto_box::SecretKey {
        crypto_box::SecretKey::from(self.0)
    }
}

pub fn check_secret(secret: &str) -> Result<(), KeyError> {
    if secret.chars().count() < MIN_SECRET_CHARS {
        return Err(KeyError::TooShort {
            min: MIN_SECRET_CHARS,
        });
    }
    Ok(())
}

impl UserCredential {
    /// A new key pair for a user, wrapped by `secret`. The hub keeps the secret key (in its
    /// encrypted database) so a reset can wrap the same key again: devices that sealed their
    /// store key to this user then need nothing new but the rewrapped credential.
    pub fn create(secret: &str) -> Result<(UserCredential, UserSecretKey), KeyError> {
        let key = UserSecretKey(rand_bytes());
        Ok((UserCredential::wrap(&key, secret)?, key))
    }

    /// The same key pair wrapped by a new secret (a password reset).
    pub fn wrap(key: &UserSecretKey, secret: &str) -> Result<UserCredential, KeyError> {
        check_secret(secret)?;
        let kdf = KdfParams::fresh();
        let kek = kdf.derive(secret)?;
        let cipher = XChaCha20Poly1305::new(kek.as_ref().into());
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(&nonce, key.0.as_ref())
            .map_err(|_| KeyError::Damaged("encryption"))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend(sealed);
        Ok(UserCredential {
            kdf,
            public_key: hex::encode(key.box_key().public_key().as_bytes()),
            wrapped_secret_key: hex::encode(wrapped),
        })
    }

    /// The secret key, if `secret` is this user's. The authentication tag is the check: a
    /// wrong secret cannot be told from a damaged credential, and both refuse.
    pub fn unlock(&self, secret: &str) -> Result<UserSecretKey, KeyError> {
        let kek = self.kdf.derive(secret)?;
        let wrapped =
            hex::decode(&self.wrapped_secret_key).map_err(|_| KeyError::Damaged("wrapped key"))?;
        if wrapped.len() != 24 + 32 + 16 {
            return Err(KeyError::Damaged("wrapped key length"));
        }
        let cipher = XChaCha20Poly1305::new(kek.as_ref().into());
        let plain = Zeroizing::new(
            cipher
                .decrypt(XNonce::from_slice(&wrapped[..24]), &wrapped[24..])
                .map_err(|_| KeyError::WrongSecret)?,
        );
        let mut key = UserSecretKey([0; 32]);
        if plain.len() != 32 {
            return Err(KeyError::Damaged("secret key length"));
        }
        key.0.copy_from_slice(&plain);
        Ok(key)
    }

    fn public(&self) -> Result<crypto_box::PublicKey, KeyError> {
        let bytes: [u8; 32] = hex::decode(&self.public_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyError::Damaged("public key"))?;
        Ok(crypto_box::PublicKey::from(bytes))
    }

    /// Seals `payload` (a store key) so that only this user's secret key opens it.
    pub fn seal(&self, payload: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.public()?
            .seal(&mut OsRng, payload)
            .map_err(|_| KeyError::Damaged("sealing"))
    }
}

/// Opens what [`UserCredential::seal`] sealed.
pub fn open_sealed(key: &UserSecretKey, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    key.box_key()
        .unseal(sealed)
        .map(Zeroizing::new)
        .map_err(|_| KeyError::Damaged("sealed store key"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Cheap parameters so the tests do not spend seconds per derivation.
    pub fn cheap(mut c: UserCredential, key: &UserSecretKey, secret: &str) -> UserCredential {
        c.kdf.m_kib = 256;
        c.kdf.t = 1;
        let kek = c.kdf.derive(secret).unwrap();
        let cipher = XChaCha20Poly1305::new(kek.as_ref().into());
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut wrapped = nonce.to_vec();
        wrapped.extend(cipher.encrypt(&nonce, key.0.as_ref()).unwrap());
        c.wrapped_secret_key = hex::encode(wrapped);
        c
    }

    #[test]
    fn the_right_secret_unwraps_and_opens_what_was_sealed() {
        let (c, key) = UserCredential::create("12345678").unwrap();
        let c = cheap(c, &key, "12345678");
        let sealed = c.seal(b"the store key").unwrap();
        assert!(!sealed.windows(13).any(|w| w == b"the store key"));
        let k = c.unlock("12345678").unwrap();
        assert_eq!(
            open_sealed(&k, &sealed).unwrap().as_slice(),
            b"the store key"
        );
        assert_eq!(c.unlock("12345679").err(), Some(KeyError::WrongSecret));
    }

    #[test]
    fn a_reset_keeps_the_key_pair_so_sealed_store_keys_still_open() {
        let (c, key) = UserCredential::create("old-secret").unwrap();
        let sealed = c.seal(b"k").unwrap();
        let reset = cheap(
            UserCredential::wrap(&key, "new-secret").unwrap(),
            &key,
            "new-secret",
        );
        assert_eq!(reset.public_key, c.public_key);
        let k = reset.unlock("new-secret").unwrap();
        assert_eq!(open_sealed(&k, &sealed).unwrap().as_slice(), b"k");
        assert_eq!(
            reset.unlock("old-secret").err(),
            Some(KeyError::WrongSecret)
        );
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            UserCredential::create("1234").err(),
            Some(KeyError::TooShort { min: 8 })
        );
    }
}
