//! The Content-Security-Policy: one text for every response. Pages name the nonce
//! Leptos puts on the inline scripts it renders (hydration, resolved resources), so no
//! other inline script runs; every other response allows no inline script at all.

/// The policy, allowing inline scripts that carry `nonce` (pages) or none (`None`).
///
/// Styles keep `'unsafe-inline'`: components set `style` attributes, which nonces do
/// not cover, and a style cannot run code.
pub fn policy(nonce: Option<&str>) -> String {
    let scripts = match nonce {
        Some(n) => format!("'self' 'nonce-{n}' 'wasm-unsafe-eval'"),
        None => "'self' 'wasm-unsafe-eval'".to_owned(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
         form-action 'self'; base-uri 'none'; object-src 'none'"
    )
}

/// Sets the page's policy, with the nonce of this render, on the response being built.
pub fn set_for_page() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = axum::http::HeaderValue::from_str(&policy(Some(&nonce))) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::policy;

    #[test]
    fn only_pages_allow_inline_scripts_and_only_with_their_nonce() {
        assert!(
            policy(None).contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{}",
            policy(None)
        );
        let page = policy(Some("abc"));
        assert!(
            page.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"),
            "{page}"
        );
        assert!(
            !page.contains("script-src 'self' 'unsafe-inline'"),
            "{page}"
        );
    }
}
