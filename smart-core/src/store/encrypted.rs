//! [`EncryptedStore`]: wraps any [`TokenStore`] (and [`PendingStore`]) so that every [`TokenSet`] and
//! [`PendingAuthorization`] reaches it sealed with XChaCha20-Poly1305 (feature `store-encrypted`).
//!
//! - **Format.** The wrapped store keeps a token set whose access token is the envelope
//!   `pa-sealed.v1.<key id>.<nonce>.<ciphertext>` (base64url, 24-byte random nonce) and nothing else; a pending
//!   authorization likewise keeps only the envelope (in its PKCE verifier field) and its creation time.
//! - **Bound to its key.** The associated data is the envelope's version and key id and the store key, so a row
//!   copied under another member's key (or from tokens to pending) fails to open.
//! - **Key rotation.** A [`KeyRing`] seals with one key and opens with any of several; each row is re-sealed
//!   under the current key on its next save (every refresh saves).
//! - **Tampering** is a typed [`SealError`], which never shows plaintext or key material; neither do the
//!   `Debug` impls of [`SealKey`], [`KeyRing`] or the store.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> smart_core::Result<()> {
//! use smart_core::store::encrypted::{EncryptedStore, KeyRing, SealKey};
//! use smart_core::{MemoryTokenStore, TokenSet, TokenStore, ExposeSecret};
//! // In production: SealKey::from_env("2026-01", "TOKEN_KEY") with 32 random bytes, base64-encoded.
//! let key = SealKey::from_bytes("2026-01", &[7u8; 32])?;
//! let store = EncryptedStore::new(MemoryTokenStore::new(), KeyRing::new(key));
//! let v = store.save("alice:aetna", &TokenSet::bearer("at".to_owned().into(), None), None).await?;
//! let loaded = store.load("alice:aetna").await?.unwrap();
//! assert_eq!(loaded.tokens.access_token().expose_secret(), "at");
//! // What the wrapped store holds is sealed:
//! let raw = store.inner().load("alice:aetna").await?.unwrap();
//! assert!(raw.tokens.access_token().expose_secret().starts_with("pa-sealed.v1.2026-01."));
//! # let _ = v; Ok(()) }
//! ```

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use super::{LeaseClaim, PendingStore, StoredTokens, TokenStore, Version};
use crate::{Error, PendingAuthorization, Result, TokenSet};

const PREFIX: &str = "pa-sealed.v1.";
const NONCE_LEN: usize = 24;
/// Where a sealed pending authorization's fields point (they hold nothing).
const SEALED_URI: &str = "urn:patient-access:sealed";

/// Why a row could not be sealed or opened, or a key not made. Names at most a key id, never plaintext or key
/// bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The ciphertext does not open under its key with this store key: modified, copied from another key, or
    /// sealed with a different key of the same id.
    #[error(
        "sealed row failed authentication under key id {kid:?} (tampered, or copied from another key)"
    )]
    Tampered {
        /// The key id the row names.
        kid: String,
    },
    /// The row names a key id that the key ring does not hold.
    #[error("sealed row names key id {kid:?}, which is not in the key ring")]
    UnknownKey {
        /// The key id the row names.
        kid: String,
    },
    /// Not a well-formed `v1` envelope.
    #[error("sealed row is malformed")]
    Malformed,
    /// The row is not sealed (stored before encryption was turned on); see [`EncryptedStore::accept_unsealed`].
    #[error("the stored row is not sealed")]
    NotSealed,
    /// A key that is not 32 bytes, not valid base64, a missing environment variable, or a bad key id.
    #[error("seal key: {0}")]
    InvalidKey(String),
    /// The plaintext did not serialize or the opened one did not parse.
    #[error("sealed row content does not parse")]
    Content,
}

impl From<SealError> for Error {
    fn from(e: SealError) -> Self {
        Error::Store(Box::new(e))
    }
}

/// One 256-bit key with its id (the id is stored in every row it seals). The bytes are zeroed on drop and never
/// printed: `Debug` shows the id only.
#[derive(Clone)]
pub struct SealKey {
    kid: String,
    bytes: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SealKey {
    /// A key from 32 bytes. The id is letters, digits, `-` and `_` (it goes into each row as is).
    pub fn from_bytes(
        kid: impl Into<String>,
        bytes: &[u8],
    ) -> std::result::Result<Self, SealError> {
        let kid = kid.into();
        if kid.is_empty()
            || kid.len() > 64
            || !kid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(SealError::InvalidKey(
                "the key id must be 1-64 ASCII letters, digits, '-' or '_'".into(),
            ));
        }
        let arr: [u8; 32] = bytes.try_into().map_err(|_| {
            SealError::InvalidKey(format!("a key is 32 bytes, got {}", bytes.len()))
        })?;
        Ok(Self {
            kid,
            bytes: Zeroizing::new(arr),
        })
    }

    /// A key from base64 (standard or URL-safe, padded or not) of 32 bytes, e.g. `openssl rand -base64 32`.
    pub fn from_base64(
        kid: impl Into<String>,
        b64: &SecretString,
    ) -> std::result::Result<Self, SealError> {
        let text = b64.expose_secret().trim();
        let decoded = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| SealError::InvalidKey("the key is not valid base64".into()))?;
        Self::from_bytes(kid, &Zeroizing::new(decoded))
    }

    /// A key from the environment variable `var`, holding base64 of 32 bytes.
    pub fn from_env(kid: impl Into<String>, var: &str) -> std::result::Result<Self, SealError> {
        let value = std::env::var(var)
            .map_err(|_| SealError::InvalidKey(format!("environment variable {var} is not set")))?;
        Self::from_base64(kid, &SecretString::from(value))
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.bytes.as_ref().into())
    }
}

/// The keys of an [`EncryptedStore`]: one seals, all open. Rotate by making the new key the seal key and
/// keeping the old one with [`with_old_key`](KeyRing::with_old_key) until every row has been saved again.
#[derive(Clone)]
pub struct KeyRing {
    seal: SealKey,
    open: HashMap<String, SealKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<&str> = self.open.keys().map(String::as_str).collect();
        kids.sort_unstable();
        f.debug_struct("KeyRing")
            .field("seal", &self.seal.kid)
            .field("open", &kids)
            .finish()
    }
}

impl KeyRing {
    /// A ring that seals (and opens) with `seal`.
    pub fn new(seal: SealKey) -> Self {
        let open = HashMap::from([(seal.kid.clone(), seal.clone())]);
        Self { seal, open }
    }

    /// Also opens rows sealed with `key` (a previous key). A key with the seal key's id is ignored.
    pub fn with_old_key(mut self, key: SealKey) -> Self {
        if key.kid != self.seal.kid {
            self.open.insert(key.kid.clone(), key);
        }
        self
    }

    /// The id new rows are sealed under.
    pub fn seal_kid(&self) -> &str {
        &self.seal.kid
    }

    fn aad(kid: &str, purpose: &str, key: &str) -> Vec<u8> {
        format!("{PREFIX}{kid}.{purpose}\0{key}").into_bytes()
    }

    fn seal(
        &self,
        purpose: &str,
        key: &str,
        plaintext: &[u8],
    ) -> std::result::Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = Self::aad(&self.seal.kid, purpose, key);
        let ct = self
            .seal
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Content)?;
        Ok(format!(
            "{PREFIX}{}.{}.{}",
            self.seal.kid,
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(ct)
        ))
    }

    fn open(
        &self,
        purpose: &str,
        key: &str,
        envelope: &str,
    ) -> std::result::Result<Zeroizing<Vec<u8>>, SealError> {
        let rest = envelope.strip_prefix(PREFIX).ok_or(SealError::NotSealed)?;
        let mut parts = rest.split('.');
        let (Some(kid), Some(nonce), Some(ct), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SealError::Malformed);
        };
        let sealer = self.open.get(kid).ok_or_else(|| SealError::UnknownKey {
            kid: kid.to_owned(),
        })?;
        let nonce = URL_SAFE_NO_PAD
            .decode(nonce)
            .map_err(|_| SealError::Malformed)?;
        let ct = URL_SAFE_NO_PAD
            .decode(ct)
            .map_err(|_| SealError::Malformed)?;
        if nonce.len() != NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let aad = Self::aad(kid, purpose, key);
        sealer
            .cipher()
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ct,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Tampered {
                kid: kid.to_owned(),
            })
    }
}

/// A [`TokenStore`] and [`PendingStore`] that seals everything it hands to `S` (see the [module docs](self)).
/// The refresh lease passes through unchanged (it holds no secret). `Debug` shows the wrapped store and the key
/// ids.
#[derive(Debug)]
pub struct EncryptedStore<S> {
    inner: S,
    keys: KeyRing,
    accept_unsealed: bool,
}

impl<S> EncryptedStore<S> {
    /// Wraps `inner`, sealing with `keys`' seal key.
    pub fn new(inner: S, keys: KeyRing) -> Self {
        Self {
            inner,
            keys,
            accept_unsealed: false,
        }
    }

    /// Also loads rows that are not sealed (stored before encryption was turned on), re-sealing them on their
    /// next save; off by default, so that a row put in clear by someone else is an error
    /// ([`SealError::NotSealed`]).
    pub fn accept_unsealed(mut self, accept: bool) -> Self {
        self.accept_unsealed = accept;
        self
    }

    /// The wrapped store (which holds only sealed rows).
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn seal_tokens(&self, key: &str, tokens: &TokenSet) -> Result<TokenSet> {
        let json = Zeroizing::new(serde_json::to_vec(tokens).map_err(|_| SealError::Content)?);
        let envelope = self.keys.seal("tokens", key, &json)?;
        Ok(TokenSet::bearer(SecretString::from(envelope), None))
    }

    fn open_tokens(&self, key: &str, stored: TokenSet) -> Result<TokenSet> {
        let envelope = stored.access_token().expose_secret();
        if self.accept_unsealed && !envelope.starts_with(PREFIX) {
            return Ok(stored);
        }
        let json = self.keys.open("tokens", key, envelope)?;
        Ok(serde_json::from_slice(&json).map_err(|_| SealError::Content)?)
    }
}

#[async_trait]
impl<S: TokenStore> TokenStore for EncryptedStore<S> {
    async fn load(&self, key: &str) -> Result<Option<StoredTokens>> {
        match self.inner.load(key).await? {
            None => Ok(None),
            Some(s) => Ok(Some(StoredTokens::new(
                self.open_tokens(key, s.tokens)?,
                s.version,
            ))),
        }
    }

    async fn save(
        &self,
        key: &str,
        tokens: &TokenSet,
        expected: Option<Version>,
    ) -> Result<Version> {
        let sealed = self.seal_tokens(key, tokens)?;
        self.inner.save(key, &sealed, expected).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key).await
    }

    async fn try_claim_refresh(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<LeaseClaim> {
        self.inner.try_claim_refresh(key, holder, ttl).await
    }

    async fn release_refresh(&self, key: &str, holder: &str) -> Result<()> {
        self.inner.release_refresh(key, holder).await
    }
}

#[async_trait]
impl<S: PendingStore> PendingStore for EncryptedStore<S> {
    async fn put(&self, key: &str, pending: &PendingAuthorization, ttl: Duration) -> Result<()> {
        let json = Zeroizing::new(serde_json::to_vec(pending).map_err(|_| SealError::Content)?);
        let envelope = self.keys.seal("pending", key, &json)?;
        let redirect_uri = url::Url::parse(SEALED_URI).map_err(|_| SealError::Content)?;
        let sealed = PendingAuthorization {
            state: SecretString::from(String::new()),
            code_verifier: SecretString::from(envelope),
            redirect_uri,
            scopes: Vec::new(),
            nonce: None,
            adapter_id: String::new(),
            created_at: pending.created_at,
        };
        self.inner.put(key, &sealed, ttl).await
    }

    async fn take(&self, key: &str) -> Result<Option<PendingAuthorization>> {
        let Some(sealed) = self.inner.take(key).await? else {
            return Ok(None);
        };
        let envelope = sealed.code_verifier.expose_secret();
        if self.accept_unsealed && !envelope.starts_with(PREFIX) {
            return Ok(Some(sealed));
        }
        let json = self.keys.open("pending", key, envelope)?;
        Ok(Some(
            serde_json::from_slice(&json).map_err(|_| SealError::Content)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::MemoryTokenStore;
    use crate::store::conformance;

    fn ring(kid: &str, byte: u8) -> KeyRing {
        KeyRing::new(SealKey::from_bytes(kid, &[byte; 32]).unwrap())
    }

    fn tokens() -> TokenSet {
        TokenSet::bearer(
            SecretString::from("at-secret-123".to_owned()),
            Some(Duration::from_secs(60)),
        )
        .with_refresh_token(SecretString::from("rt-secret-456".to_owned()))
        .with_patient("p-1")
    }

    async fn raw_access(store: &EncryptedStore<MemoryTokenStore>, key: &str) -> String {
        store
            .inner()
            .load(key)
            .await
            .unwrap()
            .unwrap()
            .tokens
            .access_token()
            .expose_secret()
            .to_owned()
    }

    #[tokio::test]
    async fn meets_the_contract_over_memory() {
        let store = EncryptedStore::new(MemoryTokenStore::new(), ring("k1", 1));
        conformance::check_all(&store).await.unwrap();
        conformance::check_pending_all(&store).await.unwrap();
    }

    #[tokio::test]
    async fn the_wrapped_store_holds_no_secret_and_a_round_trip_keeps_every_field() {
        let store = EncryptedStore::new(MemoryTokenStore::new(), ring("k1", 1));
        store.save("u:aetna", &tokens(), None).await.unwrap();
        let raw =
            serde_json::to_string(&store.inner().load("u:aetna").await.unwrap().unwrap().tokens)
                .unwrap();
        assert!(!raw.contains("secret") && !raw.contains("p-1"), "{raw}");
        let back = store.load("u:aetna").await.unwrap().unwrap().tokens;
        assert_eq!(back.access_token().expose_secret(), "at-secret-123");
        assert_eq!(
            back.refresh_token().unwrap().expose_secret(),
            "rt-secret-456"
        );
        assert_eq!(back.patient(), Some("p-1"));
        assert!(back.expires_at().is_some());
    }

    #[tokio::test]
    async fn a_row_copied_under_another_key_or_modified_fails_with_a_typed_error() {
        let store = EncryptedStore::new(MemoryTokenStore::new(), ring("k1", 1));
        store.save("alice:aetna", &tokens(), None).await.unwrap();
        let envelope = raw_access(&store, "alice:aetna").await;
        // Copied to bob's key.
        store
            .inner()
            .save(
                "bob:aetna",
                &TokenSet::bearer(SecretString::from(envelope.clone()), None),
                None,
            )
            .await
            .unwrap();
        let err = store.load("bob:aetna").await.unwrap_err();
        let Error::Store(inner) = &err else {
            panic!("{err:?}")
        };
        assert!(
            matches!(inner.downcast_ref::<SealError>(), Some(SealError::Tampered { kid }) if kid == "k1")
        );
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(
                !shown.contains("secret") && !shown.contains(&envelope[20..]),
                "{shown}"
            );
        }
        // One ciphertext character flipped.
        let mut chars: Vec<char> = envelope.chars().collect();
        let last = chars.len() - 3;
        chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
        let v = store
            .inner()
            .load("alice:aetna")
            .await
            .unwrap()
            .unwrap()
            .version;
        let tampered: String = chars.into_iter().collect();
        store
            .inner()
            .save(
                "alice:aetna",
                &TokenSet::bearer(SecretString::from(tampered), None),
                Some(v),
            )
            .await
            .unwrap();
        let err = store.load("alice:aetna").await.unwrap_err();
        let Error::Store(inner) = &err else {
            panic!("{err:?}")
        };
        assert!(
            matches!(
                inner.downcast_ref::<SealError>(),
                Some(SealError::Tampered { .. })
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn rotation_opens_old_rows_and_reseals_them_on_the_next_save() {
        let old = EncryptedStore::new(MemoryTokenStore::new(), ring("2025", 1));
        let v1 = old.save("k", &tokens(), None).await.unwrap();
        assert!(
            raw_access(&old, "k")
                .await
                .starts_with("pa-sealed.v1.2025.")
        );
        let rotated = EncryptedStore::new(
            old.inner,
            KeyRing::new(SealKey::from_bytes("2026", &[2; 32]).unwrap())
                .with_old_key(SealKey::from_bytes("2025", &[1; 32]).unwrap()),
        );
        let loaded = rotated.load("k").await.unwrap().unwrap();
        assert_eq!(
            loaded.tokens.access_token().expose_secret(),
            "at-secret-123"
        );
        rotated.save("k", &loaded.tokens, Some(v1)).await.unwrap();
        assert!(
            raw_access(&rotated, "k")
                .await
                .starts_with("pa-sealed.v1.2026.")
        );
        // Without the old key, an old row is an unknown key id, not garbage.
        let only_new = EncryptedStore::new(MemoryTokenStore::new(), ring("2026", 2));
        only_new
            .inner()
            .save(
                "k",
                &TokenSet::bearer(
                    SecretString::from(
                        EncryptedStore::new(MemoryTokenStore::new(), ring("2025", 1))
                            .seal_tokens("k", &tokens())
                            .unwrap()
                            .access_token()
                            .expose_secret()
                            .to_owned(),
                    ),
                    None,
                ),
                None,
            )
            .await
            .unwrap();
        let err = only_new.load("k").await.unwrap_err();
        assert!(err.to_string().contains("not in the key ring"), "{err}");
    }

    #[tokio::test]
    async fn unsealed_rows_are_refused_unless_accepted_and_pending_is_sealed_too() {
        let store = EncryptedStore::new(MemoryTokenStore::new(), ring("k1", 1));
        store.inner().save("k", &tokens(), None).await.unwrap();
        assert!(
            store
                .load("k")
                .await
                .unwrap_err()
                .to_string()
                .contains("not sealed")
        );
        let lenient = EncryptedStore::new(store.inner, ring("k1", 1)).accept_unsealed(true);
        assert_eq!(
            lenient
                .load("k")
                .await
                .unwrap()
                .unwrap()
                .tokens
                .access_token()
                .expose_secret(),
            "at-secret-123"
        );

        let pending = PendingAuthorization {
            state: SecretString::from("state-st".to_owned()),
            code_verifier: SecretString::from("verifier-st".to_owned()),
            redirect_uri: url::Url::parse("http://127.0.0.1:3000/cb").unwrap(),
            scopes: vec!["openid".into()],
            nonce: Some(SecretString::from("nonce-st".to_owned())),
            adapter_id: "aetna".into(),
            created_at: std::time::SystemTime::now(),
        };
        lenient
            .put("p", &pending, Duration::from_secs(60))
            .await
            .unwrap();
        let raw = lenient.inner().take("p").await.unwrap().unwrap();
        let json = serde_json::to_string(&raw).unwrap();
        assert!(
            !json.contains("verifier-st") && !json.contains("127.0.0.1"),
            "{json}"
        );
    }

    #[test]
    fn keys_never_show_their_bytes_and_bad_keys_are_refused() {
        let key = SealKey::from_base64("kid-1", &SecretString::from(STANDARD.encode([0xAB; 32])))
            .unwrap();
        let ring = KeyRing::new(key.clone());
        for shown in [format!("{key:?}"), format!("{ring:?}")] {
            assert!(
                shown.contains("kid-1")
                    && !shown.to_lowercase().contains("ab, ")
                    && !shown.contains("171"),
                "{shown}"
            );
        }
        assert!(SealKey::from_bytes("k", &[0; 16]).is_err());
        assert!(SealKey::from_bytes("bad.kid", &[0; 32]).is_err());
        assert!(SealKey::from_base64("k", &SecretString::from("not base64!".to_owned())).is_err());
        assert!(SealKey::from_env("k", "PATIENT_ACCESS_SURELY_UNSET_VAR").is_err());
    }
}
