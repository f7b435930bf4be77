//! JOSE for SMART: the app's signing key for `private_key_jwt` client assertions
//! (`client-confidential-asymmetric`, RS384 or ES384), the public JWKS the app publishes, and JWS signature
//! verification against an authorization server's JWKS (for id tokens, see [`crate::id_token`]).
//!
//! The cryptography is *ring*'s (pure assembly/C primitives already used by rustls's default provider), with the
//! JWS compact serialization written here: no JOSE crate, so no second crypto stack to build.
//!
//! ```
//! use smart_core::{ClientKey, SecretString};
//! # let jwk = SecretString::from(include_str!("../tests/fixtures/es384-test-key.jwk.json"));
//! // The private key, as a JWK (or PEM, see `ClientKey::from_pem`), from the app's secret store.
//! let key = ClientKey::from_jwk(&jwk)?;
//! // The document to serve at the JWKS URL registered with the payer: public parts only.
//! let jwks = smart_core::jwks_document(&[&key]);
//! assert_eq!(jwks["keys"][0]["kid"], key.kid());
//! assert!(jwks["keys"][0].get("d").is_none());
//! # Ok::<(), smart_core::Error>(())
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, KeyPair as _};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde_json::{Map, Value, json};
use url::Url;

use crate::error::{Error, Result};

/// The most a client assertion may live (SMART App Launch: `exp` no more than five minutes in the future).
pub const MAX_ASSERTION_LIFETIME: Duration = Duration::from_secs(300);

/// A JWS algorithm for client assertions. SMART App Launch requires servers to support both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-384 (an RSA key of 2048 bits or more).
    Rs384,
    /// ECDSA on P-384 with SHA-384.
    Es384,
}

impl SigningAlgorithm {
    /// The JOSE name: `RS384` or `ES384`.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::Rs384 => "RS384",
            SigningAlgorithm::Es384 => "ES384",
        }
    }
}

enum Signer {
    Rsa(signature::RsaKeyPair),
    Ec(signature::EcdsaKeyPair),
}

/// The app's private signing key for `private_key_jwt`, with its `kid` (and optional `jku`).
///
/// Built from a PKCS#8 (or PKCS#1 RSA) PEM or a private JWK, both handed in as [`SecretString`]s; the parsed key
/// lives inside *ring* and is never printed: `Debug` shows the `kid` and algorithm only. Cheap to clone.
#[derive(Clone)]
pub struct ClientKey {
    kid: String,
    alg: SigningAlgorithm,
    jku: Option<Url>,
    signer: Arc<Signer>,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("jku", &self.jku.as_ref().map(Url::as_str))
            .field("private_key", &"[redacted]")
            .finish()
    }
}

fn key_error(what: &str) -> Error {
    Error::Config(format!("unusable client signing key: {what}"))
}

fn b64url(field: &Map<String, Value>, name: &str) -> Result<SecretSlice<u8>> {
    let s = field
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| key_error(&format!("the JWK has no `{name}`")))?;
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map(SecretSlice::from)
        .map_err(|_| key_error(&format!("the JWK's `{name}` is not base64url")))
}

impl ClientKey {
    /// A key from a PEM private key: `-----BEGIN PRIVATE KEY-----` (PKCS#8, RSA or P-384) or
    /// `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1). `kid` is the key id registered with the payer (in the JWKS).
    pub fn from_pem(
        pem: &SecretString,
        alg: SigningAlgorithm,
        kid: impl Into<String>,
    ) -> Result<ClientKey> {
        let pem = pem.expose_secret();
        let begin = pem
            .find("-----BEGIN ")
            .ok_or_else(|| key_error("not a PEM document"))?;
        let rest = &pem[begin + "-----BEGIN ".len()..];
        let label_end = rest
            .find("-----")
            .ok_or_else(|| key_error("malformed PEM header"))?;
        let label = &rest[..label_end];
        let body_start = label_end + 5;
        let end_marker = format!("-----END {label}-----");
        let body_end = rest
            .find(&end_marker)
            .ok_or_else(|| key_error("malformed PEM (no END line)"))?;
        let body: String = rest[body_start..body_end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = SecretSlice::from(
            STANDARD
                .decode(body.as_bytes())
                .map_err(|_| key_error("the PEM body is not base64"))?,
        );
        let der = der.expose_secret();
        let rng = SystemRandom::new();
        let signer = match (label, alg) {
            ("PRIVATE KEY", SigningAlgorithm::Rs384) => Signer::Rsa(
                signature::RsaKeyPair::from_pkcs8(der)
                    .map_err(|e| key_error(&format!("not an RSA PKCS#8 key ({e})")))?,
            ),
            ("RSA PRIVATE KEY", SigningAlgorithm::Rs384) => Signer::Rsa(
                signature::RsaKeyPair::from_der(der)
                    .map_err(|e| key_error(&format!("not an RSA PKCS#1 key ({e})")))?,
            ),
            ("PRIVATE KEY", SigningAlgorithm::Es384) => Signer::Ec(
                signature::EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                    der,
                    &rng,
                )
                .map_err(|e| key_error(&format!("not a P-384 PKCS#8 key ({e})")))?,
            ),
            ("EC PRIVATE KEY", _) => {
                return Err(key_error(
                    "SEC1 `EC PRIVATE KEY` PEM is not supported; convert it to PKCS#8 \
                     (`openssl pkcs8 -topk8 -nocrypt`)",
                ));
            }
            (label, alg) => {
                return Err(key_error(&format!(
                    "a `{label}` PEM cannot sign {}",
                    alg.as_str()
                )));
            }
        };
        Self::new(kid.into(), alg, signer)
    }

    /// A key from a private JWK (`kty` `RSA` with `n e d p q dp dq qi`, or `EC` on `P-384` with `x y d`). It must
    /// carry its `kid`; `alg`, when present, must be `RS384` or `ES384` (the default for the key type).
    pub fn from_jwk(jwk: &SecretString) -> Result<ClientKey> {
        let doc: Map<String, Value> = serde_json::from_str(jwk.expose_secret())
            .map_err(|_| key_error("the JWK is not a JSON object"))?;
        let kid = doc
            .get("kid")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| key_error("the JWK has no `kid`"))?
            .to_owned();
        let kty = doc.get("kty").and_then(Value::as_str).unwrap_or_default();
        let alg = match (kty, doc.get("alg").and_then(Value::as_str)) {
            ("RSA", None | Some("RS384")) => SigningAlgorithm::Rs384,
            ("EC", None | Some("ES384")) => SigningAlgorithm::Es384,
            (kty, alg) => {
                return Err(key_error(&format!(
                    "a `{kty}` JWK with alg {alg:?} (RS384 for RSA, ES384 for EC P-384 are supported)"
                )));
            }
        };
        let signer = match alg {
            SigningAlgorithm::Rs384 => {
                let part = |n: &str| b64url(&doc, n);
                let (n, e, d, p, q) = (part("n")?, part("e")?, part("d")?, part("p")?, part("q")?);
                let (dp, dq, qi) = (part("dp")?, part("dq")?, part("qi")?);
                let components = ring::rsa::KeyPairComponents {
                    public_key: signature::RsaPublicKeyComponents {
                        n: n.expose_secret(),
                        e: e.expose_secret(),
                    },
                    d: d.expose_secret(),
                    p: p.expose_secret(),
                    q: q.expose_secret(),
                    dP: dp.expose_secret(),
                    dQ: dq.expose_secret(),
                    qInv: qi.expose_secret(),
                };
                Signer::Rsa(
                    signature::RsaKeyPair::from_components(&components)
                        .map_err(|e| key_error(&format!("the RSA JWK is inconsistent ({e})")))?,
                )
            }
            SigningAlgorithm::Es384 => {
                if doc.get("crv").and_then(Value::as_str) != Some("P-384") {
                    return Err(key_error("an EC JWK must be on curve P-384 for ES384"));
                }
                let (x, y, d) = (b64url(&doc, "x")?, b64url(&doc, "y")?, b64url(&doc, "d")?);
                let mut point = vec![0x04];
                point.extend_from_slice(x.expose_secret());
                point.extend_from_slice(y.expose_secret());
                Signer::Ec(
                    signature::EcdsaKeyPair::from_private_key_and_public_key(
                        &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                        d.expose_secret(),
                        &point,
                        &SystemRandom::new(),
                    )
                    .map_err(|e| key_error(&format!("the EC JWK is inconsistent ({e})")))?,
                )
            }
        };
        Self::new(kid, alg, signer)
    }

    fn new(kid: String, alg: SigningAlgorithm, signer: Signer) -> Result<ClientKey> {
        if kid.trim().is_empty() {
            return Err(key_error("the key id (`kid`) is empty"));
        }
        Ok(ClientKey {
            kid,
            alg,
            jku: None,
            signer: Arc::new(signer),
        })
    }

    /// Names the URL where the app serves its JWKS, sent as the assertion header's `jku` (builder style). The
    /// payer must have this URL registered for the client; most payers use the JWKS registered with the app
    /// instead, so leave it unset unless the payer asks for it.
    pub fn with_jku(mut self, jku: Url) -> ClientKey {
        self.jku = Some(jku);
        self
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.alg
    }

    /// The `jku` sent in assertion headers, if set.
    pub fn jku(&self) -> Option<&Url> {
        self.jku.as_ref()
    }

    /// The public JWK of this key (`kty`, `kid`, `alg`, `use: sig`, and `n e` or `crv x y`): never a private part.
    pub fn public_jwk(&self) -> Value {
        let i = self;
        match i.signer.as_ref() {
            Signer::Rsa(kp) => {
                let public = signature::RsaPublicKeyComponents::<Vec<u8>>::from(kp.public());
                json!({
                    "kty": "RSA", "kid": i.kid, "alg": i.alg.as_str(), "use": "sig",
                    "n": URL_SAFE_NO_PAD.encode(&public.n), "e": URL_SAFE_NO_PAD.encode(&public.e),
                })
            }
            Signer::Ec(kp) => {
                let point = kp.public_key().as_ref();
                let (x, y) = point
                    .get(1..)
                    .unwrap_or_default()
                    .split_at(48.min(point.len().saturating_sub(1)));
                json!({
                    "kty": "EC", "crv": "P-384", "kid": i.kid, "alg": i.alg.as_str(), "use": "sig",
                    "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
                })
            }
        }
    }

    /// A signed client assertion for `client_id` at `token_endpoint` (SMART App Launch
    /// `client-confidential-asymmetric`): `iss` = `sub` = the client id, `aud` = the token endpoint, `iat` =
    /// `issued_at`, `exp` = `issued_at` + `lifetime` (at most [`MAX_ASSERTION_LIFETIME`]), a fresh random `jti`,
    /// and `kid` (and `jku` when set) in the header. The SDK calls this for every token, refresh and revocation
    /// request; it is public for apps that authenticate elsewhere with the same key.
    pub fn client_assertion(
        &self,
        client_id: &str,
        token_endpoint: &Url,
        issued_at: SystemTime,
        lifetime: Duration,
    ) -> Result<SecretString> {
        let lifetime = lifetime.min(MAX_ASSERTION_LIFETIME);
        let iat = issued_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| Error::Config("the clock is before 1970".into()))?
            .as_secs();
        let mut jti = [0u8; 24];
        SystemRandom::new()
            .fill(&mut jti)
            .map_err(|_| Error::Config("the system random number generator failed".into()))?;
        let claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": token_endpoint.as_str(),
            "iat": iat,
            "exp": iat + lifetime.as_secs(),
            "jti": URL_SAFE_NO_PAD.encode(jti),
        });
        self.sign_jwt(&claims)
    }

    /// Signs `claims` (a JSON object) as a compact JWS with this key: header `alg`, `typ: JWT`, `kid` (and `jku`
    /// when set). For other JWTs an app signs with the same key (SMART Backend Services, a test issuer).
    pub fn sign_jwt(&self, claims: &Value) -> Result<SecretString> {
        if !claims.is_object() {
            return Err(Error::Config("JWT claims must be a JSON object".into()));
        }
        let rng = SystemRandom::new();
        let mut header = json!({ "alg": self.alg.as_str(), "typ": "JWT", "kid": self.kid });
        if let Some(jku) = &self.jku {
            header["jku"] = Value::String(jku.to_string());
        }
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let failed = || Error::Config("signing the JWT failed".into());
        let signature = match self.signer.as_ref() {
            Signer::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public().modulus_len()];
                kp.sign(
                    &signature::RSA_PKCS1_SHA384,
                    &rng,
                    signing_input.as_bytes(),
                    &mut sig,
                )
                .map_err(|_| failed())?;
                sig
            }
            Signer::Ec(kp) => kp
                .sign(&rng, signing_input.as_bytes())
                .map_err(|_| failed())?
                .as_ref()
                .to_vec(),
        };
        Ok(SecretString::from(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

/// The JWKS document (`{"keys": [...]}`) of the public halves of `keys`, for the app to serve at the JWKS URL it
/// registered with the payer (as `application/json`).
pub fn jwks_document(keys: &[&ClientKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>() })
}

/// A compact JWS split into its parts, before any verification.
pub(crate) struct Jws<'a> {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
}

/// Splits and decodes a compact JWS (`header.payload.signature`); `None` when it is not one.
pub(crate) fn parse_jws(token: &str) -> Option<Jws<'_>> {
    let (signing_input, sig) = token.rsplit_once('.')?;
    let (header, payload) = signing_input.split_once('.')?;
    if payload.contains('.') {
        return None;
    }
    let decode_obj = |s: &str| -> Option<Map<String, Value>> {
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        match serde_json::from_slice(&bytes).ok()? {
            Value::Object(m) => Some(m),
            _ => None,
        }
    };
    Some(Jws {
        header: decode_obj(header)?,
        claims: decode_obj(payload)?,
        signing_input,
        signature: URL_SAFE_NO_PAD.decode(sig).ok()?,
    })
}

/// Verifies `signature` over `message` with the public JWK `jwk` under JWS algorithm `alg` (RS256/384/512,
/// PS256/384/512, ES256, ES384). `Err` names why, never with key or token material.
pub(crate) fn verify_signature(
    jwk: &Map<String, Value>,
    alg: &str,
    message: &[u8],
    sig: &[u8],
) -> std::result::Result<(), String> {
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or_default();
    if let Some(key_alg) = jwk.get("alg").and_then(Value::as_str)
        && key_alg != alg
    {
        return Err(format!("the key is for {key_alg}, the token says {alg}"));
    }
    let part = |name: &str| -> std::result::Result<Vec<u8>, String> {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(|s| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok())
            .ok_or_else(|| format!("the JWK has no usable `{name}`"))
    };
    let bad = |_| "the signature does not verify".to_owned();
    match (kty, alg) {
        ("RSA", "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512") => {
            let params: &signature::RsaParameters = match alg {
                "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
                "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
                "PS384" => &signature::RSA_PSS_2048_8192_SHA384,
                _ => &signature::RSA_PSS_2048_8192_SHA512,
            };
            let (n, e) = (part("n")?, part("e")?);
            signature::RsaPublicKeyComponents { n, e }
                .verify(params, message, sig)
                .map_err(bad)
        }
        ("EC", "ES256" | "ES384") => {
            let (crv, algorithm): (&str, &'static signature::EcdsaVerificationAlgorithm) =
                if alg == "ES256" {
                    ("P-256", &signature::ECDSA_P256_SHA256_FIXED)
                } else {
                    ("P-384", &signature::ECDSA_P384_SHA384_FIXED)
                };
            if jwk.get("crv").and_then(Value::as_str) != Some(crv) {
                return Err(format!("{alg} needs a {crv} key"));
            }
            let mut point = vec![0x04];
            point.extend(part("x")?);
            point.extend(part("y")?);
            signature::UnparsedPublicKey::new(algorithm, point)
                .verify(message, sig)
                .map_err(bad)
        }
        (kty, alg) => Err(format!(
            "algorithm {alg} with a `{kty}` key is not accepted (RS*, PS*, ES256, ES384 are)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> SecretString {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        SecretString::from(std::fs::read_to_string(&path).unwrap())
    }

    fn check_assertion(key: &ClientKey) {
        let endpoint = Url::parse("https://auth.example/token").unwrap();
        let now = SystemTime::now();
        let a = key
            .client_assertion("app-1", &endpoint, now, Duration::from_secs(3600))
            .unwrap();
        let jws = parse_jws(a.expose_secret()).unwrap();
        assert_eq!(jws.header["alg"], key.algorithm().as_str());
        assert_eq!(jws.header["kid"], key.kid());
        assert_eq!(jws.claims["iss"], "app-1");
        assert_eq!(jws.claims["sub"], "app-1");
        assert_eq!(jws.claims["aud"], "https://auth.example/token");
        let (iat, exp) = (
            jws.claims["iat"].as_u64().unwrap(),
            jws.claims["exp"].as_u64().unwrap(),
        );
        assert_eq!(exp - iat, 300, "lifetime capped at five minutes");
        let public = match key.public_jwk() {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        assert!(!public.contains_key("d"));
        verify_signature(
            &public,
            key.algorithm().as_str(),
            jws.signing_input.as_bytes(),
            &jws.signature,
        )
        .unwrap();
        let mut tampered = jws.signing_input.to_owned();
        tampered.push(' ');
        assert!(
            verify_signature(
                &public,
                key.algorithm().as_str(),
                tampered.as_bytes(),
                &jws.signature
            )
            .is_err()
        );
        let b = key
            .client_assertion("app-1", &endpoint, now, Duration::from_secs(60))
            .unwrap();
        let jti_b = parse_jws(b.expose_secret()).unwrap().claims["jti"].clone();
        assert_ne!(jws.claims["jti"], jti_b, "a fresh jti each time");
    }

    #[test]
    fn pem_and_jwk_keys_sign_verifiable_assertions() {
        let rsa_pem = ClientKey::from_pem(
            &fixture("rs384-test-key.pem"),
            SigningAlgorithm::Rs384,
            "rsa-1",
        )
        .unwrap();
        let rsa_jwk = ClientKey::from_jwk(&fixture("rs384-test-key.jwk.json")).unwrap();
        assert_eq!(rsa_pem.public_jwk()["n"], rsa_jwk.public_jwk()["n"]);
        let ec_pem = ClientKey::from_pem(
            &fixture("es384-test-key.pem"),
            SigningAlgorithm::Es384,
            "ec-1",
        )
        .unwrap();
        let ec_jwk = ClientKey::from_jwk(&fixture("es384-test-key.jwk.json")).unwrap();
        assert_eq!(ec_pem.public_jwk()["x"], ec_jwk.public_jwk()["x"]);
        assert_eq!(ec_pem.public_jwk()["y"], ec_jwk.public_jwk()["y"]);
        for k in [&rsa_pem, &rsa_jwk, &ec_pem, &ec_jwk] {
            check_assertion(k);
        }
        let jku = Url::parse("https://app.example/jwks.json").unwrap();
        let with_jku = ClientKey::from_jwk(&fixture("es384-test-key.jwk.json"))
            .unwrap()
            .with_jku(jku.clone());
        let a = with_jku
            .client_assertion("c", &jku, SystemTime::now(), Duration::from_secs(60))
            .unwrap();
        assert_eq!(
            parse_jws(a.expose_secret()).unwrap().header["jku"],
            jku.as_str()
        );
    }

    #[test]
    fn debug_and_errors_never_show_the_private_key() {
        let jwk = fixture("rs384-test-key.jwk.json");
        let d = serde_json::from_str::<Value>(jwk.expose_secret()).unwrap()["d"]
            .as_str()
            .unwrap()
            .to_owned();
        let key = ClientKey::from_jwk(&jwk).unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains(&d[..20]), "{debug}");
        assert!(!jwks_document(&[&key]).to_string().contains(&d[..20]));
        // A broken key: the error says what is wrong, not what the key is.
        let broken = jwk
            .expose_secret()
            .replace("\"kty\": \"RSA\"", "\"kty\": \"oct\"");
        let err = ClientKey::from_jwk(&SecretString::from(broken)).unwrap_err();
        assert!(!err.to_string().contains(&d[..20]), "{err}");
        let wrong_alg =
            ClientKey::from_pem(&fixture("rs384-test-key.pem"), SigningAlgorithm::Es384, "k")
                .unwrap_err();
        assert!(wrong_alg.to_string().contains("P-384"), "{wrong_alg}");
    }
}
