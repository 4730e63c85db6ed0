//! The login page: a plain form posting to `/login` (works without JavaScript).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Turns the `error`/`notice` codes the login handler redirects with into sentences.
/// Codes, not free text, travel in the URL, so nothing a user types is reflected.
fn message(code: &str) -> Option<&'static str> {
    Some(match code {
        "credentials" => "Wrong user name or password.",
        "expired" => "Your session ended; please log in again.",
        "logged-out" => "You are logged out.",
        "invalid" => "Enter a user name and a password.",
        _ => return None,
    })
}

/// `/login`.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || {
        let q = query.read();
        match q.get("error").as_deref() {
            // The wait is a number the server computed; nothing typed is echoed.
            Some("throttled") => {
                let secs = q
                    .get("retry")
                    .and_then(|r| r.parse::<u64>().ok())
                    .unwrap_or(60);
                Some(format!(
                    "Too many failed logins. Try again in {}.",
                    slipway_model::throttle::describe_wait(std::time::Duration::from_secs(secs))
                ))
            }
            Some(code) => message(code).map(str::to_owned),
            None => None,
        }
    };
    let notice = move || query.read().get("notice").and_then(|c| message(&c));
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <Title text="Log in · Slipway" />
        <main id="main" class="login">
            <h1>"Log in to Slipway"</h1>
            {move || error().map(|m| view! { <p class="panel error" role="alert">{m}</p> })}
            {move || notice().map(|m| view! { <p class="panel notice" role="status">{m}</p> })}
            <form method="post" action="/login" class="stack">
                <input type="hidden" name="next" value=next />
                <label for="username">"User name"</label>
                <input id="username" name="username" autocomplete="username" required autofocus />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                />
                <button type="submit" class="primary">"Log in"</button>
            </form>
        </main>
    }
}
