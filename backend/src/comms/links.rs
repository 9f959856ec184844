//! Signed member links (D18): one token per member names the winery and the customer, signed with
//! the server's link key, so the unsubscribe and preference pages need no sign-in and cannot be
//! pointed at another member. Tokens do not expire: an unsubscribe link must work years later.
//! The portal's sign-in tokens are signed with the same key under another purpose: they name a
//! single-use row (`portal_links`) that expires, and the winery it belongs to.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::ids::{ClientId, CustomerId};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of the signature kept in the token.
const TAG: usize = 16;

/// What a token is for: a token made for one purpose never verifies for another.
const MESSAGES: &[u8] = b"member-messages\0";
const SIGN_IN: &[u8] = b"portal-sign-in\0";

fn mac(key: &[u8], purpose: &[u8], ids: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(purpose);
    mac.update(ids);
    mac
}

fn sign(key: &[u8], purpose: &[u8], ids: &[u8]) -> String {
    let tag = mac(key, purpose, ids).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(ids),
        URL_SAFE_NO_PAD.encode(&tag[..TAG])
    )
}

/// The 32 bytes a token signs, when its signature holds (checked in constant time).
fn open(key: &[u8], purpose: &[u8], token: &str) -> Option<Vec<u8>> {
    let (ids, tag) = token.split_once('.')?;
    let ids = URL_SAFE_NO_PAD.decode(ids).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    if ids.len() != 32 || tag.len() != TAG {
        return None;
    }
    mac(key, purpose, &ids).verify_truncated_left(&tag).ok()?;
    Some(ids)
}

fn pair(a: uuid::Uuid, b: uuid::Uuid) -> Vec<u8> {
    let mut ids = Vec::with_capacity(32);
    ids.extend_from_slice(a.as_bytes());
    ids.extend_from_slice(b.as_bytes());
    ids
}

fn split(ids: &[u8]) -> Option<(uuid::Uuid, uuid::Uuid)> {
    Some((
        uuid::Uuid::from_slice(&ids[..16]).ok()?,
        uuid::Uuid::from_slice(&ids[16..]).ok()?,
    ))
}

/// The token for a member's links.
pub fn token(key: &[u8], client: ClientId, customer: CustomerId) -> String {
    sign(key, MESSAGES, &pair(client.as_uuid(), customer.as_uuid()))
}

/// The member a token names, when its signature holds (checked in constant time).
pub fn verify(key: &[u8], token: &str) -> Option<(ClientId, CustomerId)> {
    let (client, customer) = split(&open(key, MESSAGES, token)?)?;
    Some((ClientId::new(client), CustomerId::new(customer)))
}

/// The token of a portal sign-in link: the winery and the link's row.
pub fn sign_in_token(key: &[u8], client: ClientId, link: uuid::Uuid) -> String {
    sign(key, SIGN_IN, &pair(client.as_uuid(), link))
}

/// The winery and link row a sign-in token names, when its signature holds.
pub fn verify_sign_in(key: &[u8], token: &str) -> Option<(ClientId, uuid::Uuid)> {
    let (client, link) = split(&open(key, SIGN_IN, token)?)?;
    Some((ClientId::new(client), link))
}

/// The portal's sign-in link.
pub fn sign_in_url(public_url: &str, slug: &str, token: &str) -> String {
    format!("{public_url}/m/{slug}/sign-in?token={token}")
}

/// The one-click unsubscribe link (RFC 8058: a POST to it unsubscribes).
pub fn unsubscribe_url(public_url: &str, token: &str) -> String {
    format!("{public_url}/u/{token}")
}

/// The preference page.
pub fn preferences_url(public_url: &str, token: &str) -> String {
    format!("{public_url}/p/{token}")
}

/// The `List-Unsubscribe` and `List-Unsubscribe-Post` headers of an e-mail (RFC 8058).
pub fn unsubscribe_headers(unsubscribe_url: &str) -> Vec<(String, String)> {
    vec![
        (
            "List-Unsubscribe".to_owned(),
            format!("<{unsubscribe_url}>"),
        ),
        (
            "List-Unsubscribe-Post".to_owned(),
            "List-Unsubscribe=One-Click".to_owned(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_member_and_nothing_else() {
        let key = b"k".repeat(32);
        let client = ClientId::new(uuid::Uuid::new_v4());
        let customer = CustomerId::new(uuid::Uuid::new_v4());
        let t = token(&key, client, customer);
        assert_eq!(verify(&key, &t), Some((client, customer)));
        // Another key, a changed id or a cut signature are refused.
        assert_eq!(verify(&b"x".repeat(32), &t), None);
        let (ids, tag) = t.split_once('.').expect("two parts");
        let mut forged = URL_SAFE_NO_PAD.decode(ids).expect("base64");
        forged[20] ^= 1;
        assert_eq!(
            verify(&key, &format!("{}.{tag}", URL_SAFE_NO_PAD.encode(&forged))),
            None
        );
        assert_eq!(verify(&key, &t[..t.len() - 2]), None);
        assert_eq!(verify(&key, "garbage"), None);
    }

    #[test]
    fn a_sign_in_token_is_not_a_message_token_and_the_reverse() {
        let key = b"k".repeat(32);
        let client = ClientId::new(uuid::Uuid::new_v4());
        let link = uuid::Uuid::new_v4();
        let t = sign_in_token(&key, client, link);
        assert_eq!(verify_sign_in(&key, &t), Some((client, link)));
        assert_eq!(verify(&key, &t), None);
        assert_eq!(verify_sign_in(&b"x".repeat(32), &t), None);
        let message = token(&key, client, CustomerId::new(link));
        assert_eq!(verify_sign_in(&key, &message), None);
    }
}
