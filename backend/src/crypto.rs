//! Secrets at rest: AES-256-GCM with a key from the environment (`VINCULUM_SECRET_KEY`). A sealed
//! value is `nonce (12 bytes) || ciphertext+tag`, stored in `bytea` columns; the key and plaintext
//! never appear in logs (`Debug` is redacted).

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;

const NONCE_LEN: usize = 12;

/// Why a key or a sealed value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the secret key must be 64 hexadecimal characters (32 bytes)")]
    BadKey,
    #[error("the sealed value is corrupt or was sealed with another key")]
    Corrupt,
}

/// Seals and opens secrets with the server's key, and derives keys for other purposes from it.
#[derive(Clone)]
pub struct Cipher {
    aead: Aes256Gcm,
    /// SHA-256 of a label and the key: the root of [`Cipher::derive_key`], never the key itself.
    root: [u8; 32],
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher(..)")
    }
}

impl Cipher {
    /// Builds the cipher from 64 hexadecimal characters.
    ///
    /// # Errors
    /// [`CryptoError::BadKey`] for anything else.
    pub fn from_hex(key: &SecretString) -> Result<Self, CryptoError> {
        let bytes = hex::decode(key.expose_secret().trim()).map_err(|_| CryptoError::BadKey)?;
        if bytes.len() != 32 {
            return Err(CryptoError::BadKey);
        }
        let root = Sha256::new()
            .chain_update(b"vinculum key derivation\0")
            .chain_update(&bytes)
            .finalize()
            .into();
        Ok(Self {
            aead: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)),
            root,
        })
    }

    /// A 32-byte key for `purpose` (signing tokens, ...), independent of the sealing key.
    pub fn derive_key(&self, purpose: &[u8]) -> Vec<u8> {
        Sha256::new()
            .chain_update(self.root)
            .chain_update(purpose)
            .finalize()
            .to_vec()
    }

    /// Encrypts `plaintext` under a fresh random nonce.
    pub fn seal(&self, plaintext: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and a fresh nonce cannot fail for inputs of this size.
        out.extend(
            self.aead
                .encrypt(&nonce, plaintext.as_bytes())
                .unwrap_or_default(),
        );
        out
    }

    /// Decrypts a value made by [`Cipher::seal`] with the same key.
    ///
    /// # Errors
    /// [`CryptoError::Corrupt`] when the value was altered or sealed with another key.
    pub fn open(&self, sealed: &[u8]) -> Result<SecretString, CryptoError> {
        if sealed.len() <= NONCE_LEN {
            return Err(CryptoError::Corrupt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let plain = self
            .aead
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| CryptoError::Corrupt)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| CryptoError::Corrupt)
    }
}

/// The last four characters of a secret, the only part ever shown back to a person.
pub fn last4(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> SecretString {
        SecretString::from(c.to_string().repeat(64))
    }

    #[test]
    fn a_sealed_secret_opens_with_the_same_key_only() {
        let cipher = Cipher::from_hex(&key('a')).expect("valid key");
        let sealed = cipher.seal("sk_live_123456");
        assert!(
            !sealed.windows(6).any(|w| w == b"sk_liv"),
            "the plaintext must not appear"
        );
        assert_eq!(
            cipher.open(&sealed).expect("opens").expose_secret(),
            "sk_live_123456"
        );
        let other = Cipher::from_hex(&key('b')).expect("valid key");
        assert_eq!(other.open(&sealed).err(), Some(CryptoError::Corrupt));
    }

    #[test]
    fn sealing_twice_gives_different_bytes() {
        let cipher = Cipher::from_hex(&key('c')).expect("valid key");
        assert_ne!(cipher.seal("same"), cipher.seal("same"));
    }

    #[test]
    fn tampering_is_detected() {
        let cipher = Cipher::from_hex(&key('d')).expect("valid key");
        let mut sealed = cipher.seal("secret");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(cipher.open(&sealed).err(), Some(CryptoError::Corrupt));
        assert_eq!(cipher.open(b"short").err(), Some(CryptoError::Corrupt));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(Cipher::from_hex(&SecretString::from("abc".to_owned())).is_err());
        assert!(Cipher::from_hex(&SecretString::from("zz".repeat(32))).is_err());
    }

    #[test]
    fn only_the_last_four_characters_are_shown() {
        assert_eq!(last4("SG.abcdefgh1234"), "1234");
        assert_eq!(last4("ab"), "ab");
    }

    #[test]
    fn the_cipher_never_prints_its_key() {
        let cipher = Cipher::from_hex(&key('e')).expect("valid key");
        assert_eq!(format!("{cipher:?}"), "Cipher(..)");
    }
}
