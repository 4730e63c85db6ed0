//! `/setup?token=…`: the one-time page that creates the first admin. The link is
//! printed on the server console at start while no admin exists.

use super::common::{ErrorPanel, Layout};
use crate::server_fns::get_setup_status;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The setup page.
#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let status = Resource::new(token, get_setup_status);
    view! {
        <Title text="Set up · Slipway" />
        <Layout>
            <h1>"Set up Slipway"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(false) => {
                            view! {
                                <p class="panel error" role="alert" data-testid="setup-invalid">
                                    "This setup link is invalid, already used or expired (links last an hour). Restart the server to print a new one while no admin exists, or create an admin on the server with "
                                    <code>"slipway user add NAME --role admin"</code> "."
                                </p>
                                <p><a href="/login">"Log in"</a></p>
                            }
                                .into_any()
                        }
                        Ok(true) => {
                            view! {
                                <p>
                                    "No administrator exists yet. Choose the name and password of the first one; this link then stops working."
                                </p>
                                <form method="post" action="/setup" class="stack narrow">
                                    <input type="hidden" name="token" value=token() />
                                    <label for="setup-name">"User name"</label>
                                    <input id="setup-name" name="name" autocomplete="username" required maxlength="64" />
                                    <label for="setup-password">"Password (12 to 128 characters)"</label>
                                    <input id="setup-password" name="password" type="password" autocomplete="new-password" required minlength="12" maxlength="128" />
                                    <label for="setup-confirm">"The same password again"</label>
                                    <input id="setup-confirm" name="confirm" type="password" autocomplete="new-password" required minlength="12" maxlength="128" />
                                    <button type="submit" class="primary">"Create the admin account"</button>
                                </form>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </Layout>
    }
}
