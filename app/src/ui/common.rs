//! Pieces shared by pages: the header, error panels, the SHA chip.

use crate::server_fns::{get_me, take_flash};
use leptos::prelude::*;
use leptos_meta::Title;
use slipway_model::error::AppError;

/// The page frame: header with the user and a logout form, then the page.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let me = Resource::new(|| (), |_| get_me());
    let flash = Resource::new(|| (), |_| take_flash());
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="top">
            <a class="brand" href="/">"Slipway"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(Some(me)) => {
                            let roles = me.roles.join(", ");
                            view! {
                                <nav class="whoami" aria-label="Account">
                                    {me
                                        .roles
                                        .iter()
                                        .any(|r| r == "admin")
                                        .then(|| {
                                            view! {
                                                <a href="/admin/users">"Users"</a>
                                                <a href="/admin/audit">"Audit log"</a>
                                            }
                                        })}
                                    <a href="/profile" class="user" data-testid="whoami">{me.name}</a>
                                    {(me.unread_notifications > 0)
                                        .then(|| {
                                            view! {
                                                <a href="/profile#notifications" class="badge deploying" data-testid="unread">
                                                    {format!("{} new", me.unread_notifications)}
                                                </a>
                                            }
                                        })}
                                    <span class="roles">{roles}</span>
                                    <form method="post" action="/logout" class="inline">
                                        <button type="submit" class="link">"Log out"</button>
                                    </form>
                                </nav>
                            }
                                .into_any()
                        }
                        _ => ().into_any(),
                    }
                })}
            </Suspense>
        </header>
        <main id="main">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    flash
                        .await
                        .ok()
                        .flatten()
                        .map(|f| {
                            let role = if f.kind == "error" { "alert" } else { "status" };
                            view! {
                                <p class=format!("panel flash {}", f.kind) role=role data-testid="flash">
                                    {f.message}
                                </p>
                            }
                        })
                })}
            </Suspense>
            {children()}
        </main>
    }
}

/// Shows an error as a panel; "log in" link when the session is gone.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        use axum::http::StatusCode;
        let status =
            StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(status);
        }
    }
    let login = matches!(error, AppError::Unauthenticated);
    view! {
        <div class="panel error" role="alert">
            <p>{error.to_string()}</p>
            {login.then(|| view! { <p><a href="/login">"Log in"</a></p> })}
        </div>
    }
}

/// A short SHA that opens to the full one, with a copy button (which needs
/// JavaScript; without it, the full SHA is still there to select).
#[component]
pub fn ShaChip(sha: String, short: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let full = sha.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&full);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &full;
        copied.set(true);
    };
    view! {
        <details class="sha">
            <summary>
                <code title=sha.clone()>{short}</code>
            </summary>
            <code class="full" data-testid="full-sha">{sha.clone()}</code>
            <button
                type="button"
                class="copy"
                aria-label=format!("Copy the full SHA {sha}")
                on:click=copy
            >
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </details>
    }
}

/// The 404 page.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Not found · Slipway" />
        <Layout>
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to all pipelines"</a></p>
        </Layout>
    }
}
