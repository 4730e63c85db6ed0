//! The one-time message a form post leaves for the next page, carried in a cookie
//! signed by this process, so a cookie planted by anyone else (a sibling subdomain, a
//! proxy on plain http) is never shown as Slipway's word.

use axum_extra::extract::cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use slipway_model::views::Flash;
use std::sync::LazyLock;

/// The key flash cookies are signed with: random per process. A message lives for one
/// redirect, so one signed before a restart is simply not shown after it.
static KEY: LazyLock<[u8; 32]> = LazyLock::new(rand::random);

/// The hex HMAC-SHA256 of `value` under [`KEY`].
fn signature(value: &str) -> String {
    // A 32-byte key is always a valid HMAC key.
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_slice()).expect("any key length");
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` (hex) is `value`'s, compared in constant time.
fn signed(value: &str, signature: &str) -> bool {
    let Ok(bytes) = hex::decode(signature) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_slice()).expect("any key length");
    mac.update(value.as_bytes());
    mac.verify_slice(&bytes).is_ok()
}

/// The cookie carrying a one-time [`Flash`] message from a form post to the next page.
///
/// A cookie rather than a session entry: the session is saved at the end of every
/// request, so a request running concurrently (a live board refreshing itself) would
/// write back a message the next page had already consumed.
pub const FLASH_COOKIE: &str = "slipway_flash";

/// The flash cookie with `value`, living `max_age`: path `/`, HttpOnly, SameSite=Lax,
/// and Secure whenever Slipway is served over https.
fn cookie(value: String, max_age: i64, secure: bool) -> Cookie<'static> {
    Cookie::build((FLASH_COOKIE, value))
        .path("/")
        .max_age(time::Duration::seconds(max_age))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

/// The `Set-Cookie` value that carries `flash` (valid for a minute).
pub fn flash_cookie(flash: &Flash, secure: bool) -> String {
    // Form-encoded: the message may hold `;`, `,`, quotes or spaces.
    let value: String = url::form_urlencoded::byte_serialize(
        format!("{}|{}", flash.kind, flash.message).as_bytes(),
    )
    .collect();
    let signature = signature(&value);
    cookie(format!("{value}.{signature}"), 60, secure).to_string()
}

/// The `Set-Cookie` value that removes the flash cookie.
pub fn clear_flash_cookie(secure: bool) -> String {
    cookie(String::new(), 0, secure).to_string()
}

/// The flash message in a request's `Cookie` header, if any.
pub fn read_flash(cookie_header: &str) -> Option<Flash> {
    let found = Cookie::split_parse(cookie_header)
        .filter_map(Result::ok)
        .find(|c| c.name() == FLASH_COOKIE)?;
    // The message may hold '.' (form encoding keeps it); the hex signature never does,
    // so it is what follows the last one.
    let (raw, signature) = found.value().rsplit_once('.')?;
    if !signed(raw, signature) {
        return None;
    }
    let decoded: String = url::form_urlencoded::parse(format!("v={raw}").as_bytes())
        .next()?
        .1
        .into_owned();
    let (kind, message) = decoded.split_once('|')?;
    let kind = if kind == "error" { "error" } else { "notice" };
    (!message.is_empty()).then(|| Flash {
        kind: kind.to_owned(),
        message: message.chars().take(500).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_messages_round_trip_through_the_cookie() {
        let f = Flash {
            kind: "error".into(),
            message: "locked by olga: labs; until 19:00 | \"x\" <b>".into(),
        };
        let set = flash_cookie(&f, true);
        for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=60"] {
            assert!(set.contains(attribute), "{attribute} missing from {set}");
        }
        let value = set.split(';').next().unwrap();
        assert_eq!(read_flash(&format!("other=1; {value}")), Some(f.clone()));
        assert_eq!(read_flash("other=1"), None);
        // Anything not signed by this process is not shown: a planted message, an
        // altered one, one without a signature.
        let (signed_value, _) = value.rsplit_once('.').unwrap();
        let planted = flash_cookie(&f, true).replace("locked", "approved");
        for forged in [
            "slipway_flash=notice%7CDeploy+approved".to_owned(),
            signed_value.to_owned(),
            planted.split(';').next().unwrap().to_owned(),
            format!("{signed_value}.{}", "0".repeat(64)),
        ] {
            assert_eq!(read_flash(&forged), None, "{forged}");
        }
        let clear = clear_flash_cookie(false);
        assert!(
            clear.contains("Max-Age=0") && !clear.contains("Secure"),
            "{clear}"
        );
    }
}
