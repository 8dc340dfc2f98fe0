//! The hash functions of RFC 5802 §2.2 for each SCRAM mechanism: `H`,
//! `HMAC` and `Hi` (PBKDF2), from the `sha2`, `hmac` and `pbkdf2` crates.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use super::super::Mechanism;

/// The hash a SCRAM mechanism is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha512,
}

impl Hash {
    /// The hash of a SCRAM mechanism; `None` for the others.
    pub(crate) fn of(mechanism: Mechanism) -> Option<Hash> {
        match mechanism {
            Mechanism::ScramSha256 => Some(Hash::Sha256),
            Mechanism::ScramSha512 => Some(Hash::Sha512),
            Mechanism::Plain | Mechanism::OAuthBearer => None,
        }
    }

    /// The output length in bytes (the length of every key and proof).
    pub(crate) fn len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha512 => 64,
        }
    }

    /// `H(data)`.
    pub(crate) fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// `HMAC(key, parts[0] || parts[1] || ...)`.
    pub(crate) fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
                .expect("HMAC takes a key of any length");
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Hash::Sha256 => run::<Hmac<Sha256>>(key, parts),
            Hash::Sha512 => run::<Hmac<Sha512>>(key, parts),
        }
    }

    /// `Hi(password, salt, iterations)`: PBKDF2 with this HMAC, one
    /// block of output.
    pub(crate) fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0; self.len()];
        match self {
            Hash::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out),
            Hash::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out),
        }
        out
    }

    /// `ClientKey := HMAC(SaltedPassword, "Client Key")`.
    pub(crate) fn client_key(self, salted: &[u8]) -> Vec<u8> {
        self.hmac(salted, &[b"Client Key"])
    }

    /// `ServerKey := HMAC(SaltedPassword, "Server Key")`.
    pub(crate) fn server_key(self, salted: &[u8]) -> Vec<u8> {
        self.hmac(salted, &[b"Server Key"])
    }
}

/// `a XOR b` (equal lengths: the caller checked).
pub(crate) fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

/// `HMAC-SHA-256(key, label || data)`: what mock salts and nonces are
/// made of, unpredictable without `key`.
pub(crate) fn derive(key: &[u8], label: &[u8], data: &[u8]) -> Vec<u8> {
    Hash::Sha256.hmac(key, &[label, data])
}

/// A nonce made from a secret seed: unpadded URL-safe base64 of
/// [`derive`], so printable and without commas (43 characters).
pub(crate) fn nonce(seed: &[u8; 32], label: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(derive(seed, label, b""))
}
