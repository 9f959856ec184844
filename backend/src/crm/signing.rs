//! Signatures: Shopify webhook and query HMACs, HS256 tokens (Shopify session tokens) and
//! constant-time comparison (integrations.md sections 0.3, 2.2, 2.3 and 2.6).
//!
//! Pure functions only: no I/O, no clock (the caller passes `now`). Every comparison of a secret
//! value is constant-time, and a token's payload is read only after its signature checked out.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use hmac::digest::{Digest, Key, KeyInit};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The clock skew a session token's `exp` and `nbf` tolerate (Shopify's own libraries use 10 s).
pub const LEEWAY_SECONDS: i64 = 10;

/// The JOSE header of every token [`sign_hs256`] mints.
const HS256_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the token is not signed with HS256")]
    WrongAlgorithm,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued for another app")]
    WrongAudience,
    #[error("the token does not name a valid shop")]
    WrongShop,
}

/// Whether two byte strings are equal, in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// HMAC-SHA256 keyed with `secret`. The key is normalised the way HMAC itself does (RFC 2104
/// section 2: hashed when longer than a block, then zero-padded to one block), which makes the
/// construction infallible instead of an `InvalidLength` that can never happen.
fn keyed(secret: &[u8]) -> HmacSha256 {
    let mut key = Key::<HmacSha256>::default();
    if secret.len() > key.len() {
        let digest = Sha256::digest(secret);
        key[..digest.len()].copy_from_slice(&digest);
    } else {
        key[..secret.len()].copy_from_slice(secret);
    }
    <HmacSha256 as KeyInit>::new(&key)
}

/// HMAC-SHA256 of `message` with `secret`.
fn hmac_sha256(secret: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = keyed(secret);
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The `X-Shopify-Hmac-Sha256` value of a body (what Shopify sends; tests and stand-ins sign
/// with it).
pub fn shopify_webhook_signature(secret: &[u8], raw_body: &[u8]) -> String {
    STANDARD.encode(hmac_sha256(secret, raw_body))
}

/// The `hmac` parameter Shopify adds to a query of these pairs (tests and stand-ins sign with it).
pub fn shopify_query_signature(secret: &[u8], pairs: &[(String, String)]) -> String {
    let mut signed: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(key, _)| key != "hmac" && key != "signature")
        .collect();
    signed.sort();
    let message = signed
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    hex::encode(hmac_sha256(secret, message.as_bytes()))
}

/// Whether `X-Shopify-Hmac-Sha256` (base64 of HMAC-SHA256 over the raw body, keyed with the app's
/// client secret) signs exactly these body bytes. A header that is not base64 fails.
pub fn shopify_webhook_is_valid(secret: &[u8], raw_body: &[u8], header_b64: &str) -> bool {
    let Ok(expected) = STANDARD.decode(header_b64.trim()) else {
        return false;
    };
    let mut mac = keyed(secret);
    mac.update(raw_body);
    mac.verify_slice(&expected).is_ok()
}

/// Whether the `hmac` parameter of a request Shopify sent to our app URL (install, OAuth
/// callback) is valid: every other parameter except the legacy `signature`, sorted by key, joined
/// as `key=value` with `&`, signed with HMAC-SHA256 and written in lower-case hex. The values must
/// already be URL-decoded. A missing `hmac` fails.
pub fn shopify_query_is_valid(secret: &[u8], pairs: &[(String, String)]) -> bool {
    let Some(given) = pairs
        .iter()
        .find(|(key, _)| key == "hmac")
        .map(|(_, value)| value.trim().to_ascii_lowercase())
    else {
        return false;
    };
    let expected = shopify_query_signature(secret, pairs);
    constant_time_eq(expected.as_bytes(), given.as_bytes())
}

/// Whether `shop` is a `*.myshopify.com` domain: `^[a-zA-Z0-9][a-zA-Z0-9\-]*\.myshopify\.com$`.
/// Anything else is refused before it becomes a URL (no requests to hosts a caller picked).
pub fn is_valid_shop_domain(shop: &str) -> bool {
    let Some(name) = shop.strip_suffix(".myshopify.com") else {
        return false;
    };
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A JWT signed with HS256: `{"alg":"HS256","typ":"JWT"}`, the claims, and the signature, each
/// base64url without padding.
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HS256_HEADER),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = URL_SAFE_NO_PAD.encode(hmac_sha256(secret, signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

/// A base64url segment of a token, as JSON.
fn segment_json(segment: &str) -> Result<Value, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

/// The claims of an HS256 JWT whose signature `secret` made. Only `"alg":"HS256"` is accepted
/// (`none`, HS512 and every other algorithm are refused), and the payload is decoded only after
/// the signature checked out. No claim is checked here: see [`verify_session_token`].
///
/// # Errors
/// [`TokenError::Malformed`] when the token is not three base64url JSON segments,
/// [`TokenError::WrongAlgorithm`] for any algorithm but HS256, [`TokenError::BadSignature`] when
/// the signature does not match.
pub fn verify_hs256(token: &str, secret: &[u8]) -> Result<Value, TokenError> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let alg = segment_json(header)?
        .get("alg")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or(TokenError::Malformed)?;
    if alg != "HS256" {
        return Err(TokenError::WrongAlgorithm);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    let mut mac = keyed(secret);
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    let claims = segment_json(payload)?;
    if claims.is_object() {
        Ok(claims)
    } else {
        Err(TokenError::Malformed)
    }
}

/// Who an embedded Shopify admin request comes from, as its session token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionToken {
    /// The shop's `*.myshopify.com` domain.
    pub shop: String,
    /// The Shopify staff user (`sub`), when the token names one.
    pub user_id: Option<String>,
}

/// A numeric date claim (seconds since the epoch).
fn seconds(claims: &Value, key: &str) -> Option<i64> {
    let v = claims.get(key)?;
    // Whole seconds are the norm; a fractional value is truncated.
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

/// Whether `aud` (a string or a list of strings) names our app.
fn audience_is(claims: &Value, api_key: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(aud)) => aud == api_key,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(api_key)),
        _ => false,
    }
}

/// The host of a `https://{host}{suffix}` claim.
fn host_of<'a>(claims: &'a Value, key: &str, suffix: &str) -> Option<&'a str> {
    claims
        .get(key)?
        .as_str()?
        .strip_prefix("https://")?
        .strip_suffix(suffix)
}

/// Verifies a Shopify session token (integrations.md 2.3): HS256 signed with the app's client
/// secret; `exp` (required) and `nbf` (when present) hold at `now` within [`LEEWAY_SECONDS`];
/// `aud` is our API key; the shop is the host of `dest` (`https://{shop}`), which must equal the
/// host of `iss` (`https://{shop}/admin`) and be a `*.myshopify.com` domain.
///
/// # Errors
/// Any [`TokenError`]: the token is malformed, badly signed, not HS256, expired, not valid yet,
/// for another app, or names no valid shop.
pub fn verify_session_token(
    token: &str,
    api_key: &str,
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<SessionToken, TokenError> {
    let claims = verify_hs256(token, secret)?;
    let now = now.timestamp();
    let exp = seconds(&claims, "exp").ok_or(TokenError::Malformed)?;
    if now > exp.saturating_add(LEEWAY_SECONDS) {
        return Err(TokenError::Expired);
    }
    if let Some(nbf) = seconds(&claims, "nbf")
        && now < nbf.saturating_sub(LEEWAY_SECONDS)
    {
        return Err(TokenError::NotYetValid);
    }
    if !audience_is(&claims, api_key) {
        return Err(TokenError::WrongAudience);
    }
    let shop = host_of(&claims, "dest", "").ok_or(TokenError::WrongShop)?;
    let issuer = host_of(&claims, "iss", "/admin").ok_or(TokenError::WrongShop)?;
    if shop != issuer || !is_valid_shop_domain(shop) {
        return Err(TokenError::WrongShop);
    }
    Ok(SessionToken {
        shop: shop.to_owned(),
        user_id: claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    const ORDER_BODY: &str = r#"{"id":820982911946154508,"email":"jon@example.com","total_price":"199.65","customer":{"id":115310627314723954,"email":"jon@example.com"}}"#;
    const SHOP_BODY: &str = r#"{"shop_id":954889,"shop_domain":"snowdevil.myshopify.com"}"#;
    const SESSION_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL3Nub3dkZXZpbC5teXNob3BpZnkuY29tL2FkbWluIiwiZGVzdCI6Imh0dHBzOi8vc25vd2RldmlsLm15c2hvcGlmeS5jb20iLCJhdWQiOiJ0ZXN0LWNsaWVudC1pZCIsInN1YiI6IjQyIiwiZXhwIjoxNzAwMDAwMDYwLCJuYmYiOjE3MDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAxIiwic2lkIjoiYWJjMTIzIn0.o8u71Od46TOn-9Vuj5SnG7AHm-hiBI1LyDjoftF6oy8";
    const SECRET: &[u8] = b"test-client-secret";
    const API_KEY: &str = "test-client-id";

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0)
            .single()
            .expect("a valid instant")
    }

    /// 2023-11-14T22:13:30Z, ten seconds into the vector's one-minute life.
    fn vector_now() -> DateTime<Utc> {
        at(1_700_000_010)
    }

    fn pairs(raw: &str) -> Vec<(String, String)> {
        raw.split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').expect("key=value");
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    fn claims_for(shop: &str, now: i64) -> Value {
        json!({
            "iss": format!("https://{shop}/admin"),
            "dest": format!("https://{shop}"),
            "aud": API_KEY,
            "sub": "42",
            "exp": now + 60,
            "nbf": now,
            "iat": now,
            "jti": "00000000-0000-0000-0000-000000000002",
            "sid": "abc123",
        })
    }

    /// A token with any header, signed with HS256 over whatever the header says.
    fn with_header(header: &str, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = URL_SAFE_NO_PAD.encode(hmac_sha256(SECRET, input.as_bytes()));
        format!("{input}.{signature}")
    }

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn the_normalised_key_signs_like_the_library_does_for_any_key_length() {
        for len in [0, 1, 18, 32, 63, 64, 65, 200] {
            let secret = vec![0x5a_u8; len];
            let mut reference = <HmacSha256 as Mac>::new_from_slice(&secret).expect("any length");
            reference.update(b"message");
            assert_eq!(
                hmac_sha256(&secret, b"message"),
                reference.finalize().into_bytes().to_vec(),
                "key of {len} bytes"
            );
        }
    }

    #[test]
    fn the_shopify_webhook_hmac_matches_the_documented_vectors() {
        assert!(shopify_webhook_is_valid(
            b"hush",
            ORDER_BODY.as_bytes(),
            "6/9m+evO0e9PttbTpPCrmGgHrPoGTIL1bWQO1Oy1Gh4="
        ));
        assert!(shopify_webhook_is_valid(
            b"hush",
            SHOP_BODY.as_bytes(),
            "unXxOs41nqtk5v6Btqh9qz9Dh6mprKtn5eLN4XfJwSY="
        ));
    }

    #[test]
    fn a_tampered_webhook_body_a_wrong_secret_or_a_bad_header_fails() {
        let header = "6/9m+evO0e9PttbTpPCrmGgHrPoGTIL1bWQO1Oy1Gh4=";
        let tampered = ORDER_BODY.replace("199.65", "1.65");
        assert!(!shopify_webhook_is_valid(
            b"hush",
            tampered.as_bytes(),
            header
        ));
        assert!(!shopify_webhook_is_valid(
            b"hush",
            format!("{ORDER_BODY}\n").as_bytes(),
            header
        ));
        assert!(!shopify_webhook_is_valid(
            b"hushh",
            ORDER_BODY.as_bytes(),
            header
        ));
        assert!(!shopify_webhook_is_valid(
            b"hush",
            ORDER_BODY.as_bytes(),
            "not base64!"
        ));
        assert!(!shopify_webhook_is_valid(
            b"hush",
            ORDER_BODY.as_bytes(),
            ""
        ));
    }

    #[test]
    fn the_shopify_query_hmac_matches_the_documented_vectors() {
        let mut with_state = pairs(
            "shop=some-shop.myshopify.com&code=0907a61c0c8d55e99db179b68161bc00&timestamp=1337178173&state=0.6784241404160823",
        );
        with_state.push((
            "hmac".to_owned(),
            "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf".to_owned(),
        ));
        assert!(shopify_query_is_valid(b"hush", &with_state));

        let without_state = pairs(
            "hmac=4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20&code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&timestamp=1337178173&signature=legacy",
        );
        assert!(shopify_query_is_valid(b"hush", &without_state));
    }

    #[test]
    fn a_query_without_hmac_or_with_a_changed_parameter_fails() {
        let unsigned = pairs(
            "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&timestamp=1337178173",
        );
        assert!(!shopify_query_is_valid(b"hush", &unsigned));

        let changed = pairs(
            "hmac=4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20&code=0907a61c0c8d55e99db179b68161bc00&shop=evil-shop.myshopify.com&timestamp=1337178173",
        );
        assert!(!shopify_query_is_valid(b"hush", &changed));
        let mut wrong_secret = pairs(
            "hmac=4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20&code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&timestamp=1337178173",
        );
        assert!(!shopify_query_is_valid(b"hushh", &wrong_secret));
        wrong_secret.retain(|(k, _)| k != "timestamp");
        assert!(!shopify_query_is_valid(b"hush", &wrong_secret));
    }

    #[test]
    fn only_myshopify_domains_are_valid_shops() {
        for good in [
            "snowdevil.myshopify.com",
            "some-shop.myshopify.com",
            "A1.myshopify.com",
            "9-lives-.myshopify.com",
        ] {
            assert!(is_valid_shop_domain(good), "{good}");
        }
        for bad in [
            "",
            ".myshopify.com",
            "-shop.myshopify.com",
            "shop.myshopify.com.evil.com",
            "evil.com/shop.myshopify.com",
            "shop.example.com",
            "sub.shop.myshopify.com",
            "shop_1.myshopify.com",
            "shop.myshopify.com:8080",
            "shop.MYSHOPIFY.com",
            "https://shop.myshopify.com",
            "rosé.myshopify.com",
        ] {
            assert!(!is_valid_shop_domain(bad), "{bad}");
        }
    }

    #[test]
    fn the_documented_session_token_names_its_shop_and_user() {
        let session = verify_session_token(SESSION_TOKEN, API_KEY, SECRET, vector_now())
            .expect("the vector verifies");
        assert_eq!(
            session,
            SessionToken {
                shop: "snowdevil.myshopify.com".to_owned(),
                user_id: Some("42".to_owned()),
            }
        );
    }

    #[test]
    fn the_session_token_holds_within_the_leeway_and_not_beyond() {
        assert!(verify_session_token(SESSION_TOKEN, API_KEY, SECRET, at(1_700_000_070)).is_ok());
        assert_eq!(
            verify_session_token(SESSION_TOKEN, API_KEY, SECRET, at(1_700_000_071)),
            Err(TokenError::Expired)
        );
        assert!(verify_session_token(SESSION_TOKEN, API_KEY, SECRET, at(1_699_999_990)).is_ok());
        assert_eq!(
            verify_session_token(SESSION_TOKEN, API_KEY, SECRET, at(1_699_999_989)),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn an_expired_session_token_is_refused() {
        assert_eq!(
            verify_session_token(SESSION_TOKEN, API_KEY, SECRET, Utc::now()),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_session_token_for_another_app_is_refused() {
        assert_eq!(
            verify_session_token(SESSION_TOKEN, "another-client-id", SECRET, vector_now()),
            Err(TokenError::WrongAudience)
        );
    }

    #[test]
    fn a_session_token_signed_with_another_secret_is_refused() {
        assert_eq!(
            verify_session_token(SESSION_TOKEN, API_KEY, b"other-secret", vector_now()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_tampered_session_token_payload_is_refused() {
        let mut parts: Vec<&str> = SESSION_TOKEN.split('.').collect();
        let mut claims = segment_json(parts[1]).expect("the vector's payload");
        claims["dest"] = json!("https://evil.myshopify.com");
        claims["iss"] = json!("https://evil.myshopify.com/admin");
        let forged = URL_SAFE_NO_PAD.encode(claims.to_string());
        parts[1] = &forged;
        assert_eq!(
            verify_session_token(&parts.join("."), API_KEY, SECRET, vector_now()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_session_token_with_alg_none_is_refused() {
        let claims = segment_json(SESSION_TOKEN.split('.').nth(1).expect("a payload"))
            .expect("the vector's payload");
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        assert_eq!(
            verify_session_token(&unsigned, API_KEY, SECRET, vector_now()),
            Err(TokenError::WrongAlgorithm)
        );
        let signed_anyway = with_header(r#"{"alg":"none","typ":"JWT"}"#, &claims);
        assert_eq!(
            verify_hs256(&signed_anyway, SECRET),
            Err(TokenError::WrongAlgorithm)
        );
    }

    #[test]
    fn a_session_token_with_another_algorithm_is_refused() {
        let claims = claims_for("snowdevil.myshopify.com", vector_now().timestamp());
        let hs512 = with_header(r#"{"alg":"HS512","typ":"JWT"}"#, &claims);
        assert_eq!(
            verify_session_token(&hs512, API_KEY, SECRET, vector_now()),
            Err(TokenError::WrongAlgorithm)
        );
        let no_alg = with_header(r#"{"typ":"JWT"}"#, &claims);
        assert_eq!(verify_hs256(&no_alg, SECRET), Err(TokenError::Malformed));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for token in ["", "abc", "a.b", "a.b.c.d", "!!.??.**"] {
            assert_eq!(
                verify_hs256(token, SECRET),
                Err(TokenError::Malformed),
                "{token}"
            );
        }
    }

    #[test]
    fn a_freshly_minted_token_verifies_and_keeps_its_claims() {
        let now = Utc::now();
        let claims = claims_for("fresh-shop.myshopify.com", now.timestamp());
        let token = sign_hs256(&claims, SECRET);
        assert_eq!(verify_hs256(&token, SECRET), Ok(claims));
        let session = verify_session_token(&token, API_KEY, SECRET, now).expect("fresh token");
        assert_eq!(session.shop, "fresh-shop.myshopify.com");
        assert_eq!(session.user_id.as_deref(), Some("42"));
    }

    #[test]
    fn a_session_token_whose_dest_and_iss_disagree_or_name_no_shop_is_refused() {
        let now = vector_now().timestamp();
        let mut mismatched = claims_for("snowdevil.myshopify.com", now);
        mismatched["iss"] = json!("https://other.myshopify.com/admin");
        let foreign = claims_for("snowdevil.example.com", now);
        let mut missing = claims_for("snowdevil.myshopify.com", now);
        missing.as_object_mut().expect("an object").remove("dest");
        let mut with_path = claims_for("snowdevil.myshopify.com", now);
        with_path["dest"] = json!("https://snowdevil.myshopify.com/evil");
        for claims in [mismatched, foreign, missing, with_path] {
            let token = sign_hs256(&claims, SECRET);
            assert_eq!(
                verify_session_token(&token, API_KEY, SECRET, vector_now()),
                Err(TokenError::WrongShop),
                "{claims}"
            );
        }
    }

    #[test]
    fn a_session_token_without_exp_is_malformed_and_a_listed_audience_counts() {
        let now = vector_now().timestamp();
        let mut no_exp = claims_for("snowdevil.myshopify.com", now);
        no_exp.as_object_mut().expect("an object").remove("exp");
        assert_eq!(
            verify_session_token(&sign_hs256(&no_exp, SECRET), API_KEY, SECRET, vector_now()),
            Err(TokenError::Malformed)
        );
        let mut listed = claims_for("snowdevil.myshopify.com", now);
        listed["aud"] = json!(["someone-else", API_KEY]);
        assert!(
            verify_session_token(&sign_hs256(&listed, SECRET), API_KEY, SECRET, vector_now())
                .is_ok()
        );
    }
}
