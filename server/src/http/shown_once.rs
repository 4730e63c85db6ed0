//! The page that shows a secret exactly once — a new API token, a temporary password —
//! as the answer to the form post that created it: never cached, never stored (not even
//! in the session for a redirect). A Leptos component rendered on the server, so every
//! piece of text is escaped by the renderer, not by hand.

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use leptos::prelude::*;
use leptos::tachys::view::RenderHtml;

/// Which secret, which decides what the page says after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secret {
    /// A new API token.
    ApiToken,
    /// A generated temporary password for a user.
    TemporaryPassword,
}

impl Secret {
    /// The `data-testid` of the element holding the secret (tests and scripts read it).
    fn testid(self) -> &'static str {
        match self {
            Secret::ApiToken => "new-token",
            Secret::TemporaryPassword => "temporary-password",
        }
    }
}

#[component]
fn ShownOnce(
    title: String,
    secret: String,
    kind: Secret,
    back_href: String,
    back_label: String,
) -> impl IntoView {
    let after = match kind {
        Secret::ApiToken => view! {
            <p>
                "Use it as " <code>"Authorization: Bearer …"</code> " with the JSON API, or as "
                <code>"SLIPWAY_TOKEN"</code> " with the CLI."
            </p>
        }
        .into_any(),
        Secret::TemporaryPassword => view! {
            <p>
                "Give this temporary password to the user through a channel you trust. "
                "They must choose their own password when they first log in with it."
            </p>
        }
        .into_any(),
    };
    view! {
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <title>{format!("{title} · Slipway")}</title>
                <link rel="stylesheet" href="/pkg/slipway.css" />
            </head>
            <body>
                <main id="main">
                    <h1>{title}</h1>
                    <p class="panel notice">"Copy it now: it is shown only once."</p>
                    <p>
                        <code data-testid=kind.testid()>{secret}</code>
                    </p>
                    {after}
                    <p>
                        <a href=back_href>{back_label}</a>
                    </p>
                </main>
            </body>
        </html>
    }
}

/// The page showing `secret` under `title`, with a link `back` (href, label).
pub fn page(title: String, secret: &str, kind: Secret, back: (&str, &str)) -> Response {
    let (href, label) = back;
    let html = view! {
        <ShownOnce
            title=title
            secret=secret.to_owned()
            kind=kind
            back_href=href.to_owned()
            back_label=label.to_owned()
        />
    }
    .to_html();
    let mut res = Html(format!("<!DOCTYPE html>{html}")).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_secret_and_the_title_are_escaped_and_the_page_is_never_cached() {
        let res = page(
            "New API token “<script>x</script>”".into(),
            "swt_<b>&\"",
            Secret::ApiToken,
            ("/profile", "Back to your profile"),
        );
        assert_eq!(
            res.headers()
                .get(header::CACHE_CONTROL)
                .map(|v| v.as_bytes()),
            Some(&b"no-store"[..])
        );
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .expect("a body");
        let html = String::from_utf8(body.to_vec()).expect("UTF-8");
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(!html.contains("<script>x"), "{html}");
        assert!(!html.contains("<b>&"), "{html}");
        assert!(html.contains(r#"data-testid="new-token""#), "{html}");
        assert!(html.contains("Authorization: Bearer"), "{html}");
        assert!(html.contains(r#"href="/profile""#), "{html}");
    }
}
