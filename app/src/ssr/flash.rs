//! The one-time message a form post leaves for the next page, carried in a cookie.

use slipway_model::views::Flash;

/// The cookie carrying a one-time [`Flash`] message from a form post to the next page.
///
/// A cookie rather than a session entry: the session is saved at the end of every
/// request, so a request running concurrently (a live board refreshing itself) would
/// write back a message the next page had already consumed.
pub const FLASH_COOKIE: &str = "slipway_flash";

/// The `Set-Cookie` value that carries `flash` (valid for a minute).
pub fn flash_cookie(flash: &Flash, secure: bool) -> String {
    let value: String = url::form_urlencoded::byte_serialize(
        format!("{}|{}", flash.kind, flash.message).as_bytes(),
    )
    .collect();
    format!(
        "{FLASH_COOKIE}={value}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the flash cookie.
pub fn clear_flash_cookie(secure: bool) -> String {
    format!(
        "{FLASH_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The flash message in a request's `Cookie` header, if any.
pub fn read_flash(cookie_header: &str) -> Option<Flash> {
    let raw = cookie_header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == FLASH_COOKIE)
        .map(|(_, v)| v)?;
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
        assert!(set.ends_with("; Secure") && set.contains("HttpOnly"));
        let value = set.split(';').next().unwrap();
        assert_eq!(read_flash(&format!("other=1; {value}")), Some(f));
        assert_eq!(read_flash("other=1"), None);
        assert!(clear_flash_cookie(false).contains("Max-Age=0"));
    }
}
