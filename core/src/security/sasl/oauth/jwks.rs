//! JSON Web Key Sets (RFC 7517) and the JWS signatures (RFC 7515, RFC
//! 7518) checked against them: RS256, RS384, RS512 (RSASSA-PKCS1-v1_5)
//! and ES256 (ECDSA on P-256).
//!
//! Kafka's `OAuthBearerValidatorCallbackHandler` reads the set from
//! `sasl.oauthbearer.jwks.endpoint.url` and picks the key by the token's
//! `kid`; so does [`Jwks::verify`]. Keys of other types or curves are
//! skipped when the set is read (they can verify nothing here), as are
//! keys whose `use` is not `sig`. As in jose4j, which Kafka uses, an RSA
//! key shorter than 2048 bits verifies nothing.

use base64::Engine;
use p256::ecdsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
use serde_json::Value;

use super::b64::B64;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// The shortest RSA modulus jose4j accepts for RS256/384/512.
const MIN_RSA_BITS: usize = 2048;

/// A parsed key set.
#[derive(Debug, Clone)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Debug, Clone)]
struct Jwk {
    kid: Option<String>,
    alg: Option<String>,
    key: Key,
}

#[derive(Debug, Clone)]
enum Key {
    Rsa(RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
}

impl Jwks {
    /// Reads a JWKS document (`{"keys":[...]}`). Fails on malformed JSON or
    /// a malformed RSA or P-256 key; keys of other kinds are skipped.
    pub fn parse(text: &str) -> Result<Jwks, String> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| format!("the JWKS is not JSON: {e}"))?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("the JWKS has no \"keys\" array")?;
        let mut parsed = Vec::new();
        for (i, jwk) in keys.iter().enumerate() {
            if let Some(key) = parse_key(jwk).map_err(|e| format!("JWKS key {i}: {e}"))? {
                parsed.push(key);
            }
        }
        Ok(Jwks { keys: parsed })
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks `signature` over `input` with the key `kid` names (or the
    /// only key that fits `alg` when the token names none).
    pub fn verify(
        &self,
        alg: &str,
        kid: Option<&str>,
        input: &[u8],
        signature: &[u8],
    ) -> Result<(), String> {
        let fits = |k: &&Jwk| {
            matches!(
                (alg, &k.key),
                ("RS256" | "RS384" | "RS512", Key::Rsa(_)) | ("ES256", Key::P256(_))
            ) && k.alg.as_deref().is_none_or(|a| a == alg)
                && kid.is_none_or(|kid| k.kid.as_deref() == Some(kid))
        };
        if !matches!(alg, "RS256" | "RS384" | "RS512" | "ES256") {
            return Err(format!("the algorithm {alg} is not supported"));
        }
        let mut candidates = self.keys.iter().filter(fits);
        let key = match (candidates.next(), candidates.next(), kid) {
            (Some(key), None, _) | (Some(key), Some(_), Some(_)) => key,
            (None, _, Some(kid)) => {
                return Err(format!("no key in the JWKS has kid {kid} for {alg}"));
            }
            (None, _, None) => return Err(format!("no key in the JWKS fits {alg}")),
            (Some(_), Some(_), None) => {
                return Err(format!(
                    "the token names no kid and several JWKS keys fit {alg}"
                ));
            }
        };
        let ok = match &key.key {
            Key::Rsa(public) => {
                if public.size() * 8 < MIN_RSA_BITS {
                    return Err(format!(
                        "the RSA key is {} bits, under the {MIN_RSA_BITS} {alg} needs",
                        public.size() * 8
                    ));
                }
                let result = match alg {
                    "RS256" => public.verify(
                        Pkcs1v15Sign::new::<Sha256>(),
                        &Sha256::digest(input),
                        signature,
                    ),
                    "RS384" => public.verify(
                        Pkcs1v15Sign::new::<Sha384>(),
                        &Sha384::digest(input),
                        signature,
                    ),
                    _ => public.verify(
                        Pkcs1v15Sign::new::<Sha512>(),
                        &Sha512::digest(input),
                        signature,
                    ),
                };
                result.is_ok()
            }
            Key::P256(public) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| public.verify(input, &sig).is_ok()),
        };
        if ok {
            Ok(())
        } else {
            Err("the token's signature does not verify".into())
        }
    }
}

/// One key of the set: `None` for a kind Spate cannot verify with.
fn parse_key(jwk: &Value) -> Result<Option<Jwk>, String> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let bytes = |name: &str| -> Result<Vec<u8>, String> {
        let value = text(name).ok_or(format!("no \"{name}\""))?;
        B64.decode(value)
            .map_err(|_| format!("\"{name}\" is not base64url"))
    };
    if text("use").is_some_and(|u| u != "sig") {
        return Ok(None);
    }
    let key = match (text("kty"), text("crv")) {
        (Some("RSA"), _) => {
            let n = BigUint::from_bytes_be(&bytes("n")?);
            let e = BigUint::from_bytes_be(&bytes("e")?);
            Key::Rsa(RsaPublicKey::new(n, e).map_err(|e| format!("bad RSA key: {e}"))?)
        }
        (Some("EC"), Some("P-256")) => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err("a P-256 coordinate is not 32 bytes".into());
            }
            // The uncompressed SEC1 form: 0x04, x, y.
            let sec1: Vec<u8> = [&[0x04][..], &x, &y].concat();
            let point = p256::EncodedPoint::from_bytes(&sec1)
                .map_err(|_| "the P-256 point is not well formed")?;
            Key::P256(
                p256::ecdsa::VerifyingKey::from_encoded_point(&point)
                    .map_err(|_| "the P-256 point is not on the curve")?,
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(Jwk {
        kid: text("kid").map(str::to_owned),
        alg: text("alg").map(str::to_owned),
        key,
    }))
}
