//! `/profile`: who you are, and your API tokens (create, revoke).

use super::common::{ErrorPanel, Layout};
use crate::server_fns::get_profile;
use leptos::prelude::*;
use leptos_meta::Title;

/// The profile page.
#[component]
pub fn ProfilePage() -> impl IntoView {
    let profile = Resource::new(|| (), |_| get_profile());
    view! {
        <Title text="Profile · Slipway" />
        <Layout>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match profile.await {
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(p) => {
                            view! {
                                <h1>{format!("Profile · {}", p.name)}</h1>
                                <p>{format!("Roles: {}", p.roles.join(", "))}</p>
                                <h2>"API tokens"</h2>
                                <p class="hint">
                                    "Tokens act with your roles through the JSON API (/api/v1) and the CLI (SLIPWAY_TOKEN). A new token is shown once."
                                </p>
                                <form method="post" action="/profile/tokens" class="card-action">
                                    <label for="token-name">"Name"</label>
                                    <input id="token-name" name="name" required maxlength="100" placeholder="CI on main" />
                                    <button type="submit">"Create token"</button>
                                </form>
                                {if p.tokens.is_empty() {
                                    view! { <p class="muted">"No tokens yet."</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="users">
                                            <thead>
                                                <tr>
                                                    <th scope="col">"Name"</th>
                                                    <th scope="col">"Token"</th>
                                                    <th scope="col">"Created"</th>
                                                    <th scope="col">"Last used"</th>
                                                    <th scope="col">"Status"</th>
                                                </tr>
                                            </thead>
                                            <tbody>
                                                {p
                                                    .tokens
                                                    .into_iter()
                                                    .map(|t| {
                                                        let action = format!("/profile/tokens/{}/revoke", t.id);
                                                        view! {
                                                            <tr>
                                                                <td>{t.name.clone()}</td>
                                                                <td><code>{format!("{}…", t.prefix)}</code></td>
                                                                <td>{t.created}</td>
                                                                <td>{t.last_used.unwrap_or_else(|| "never".into())}</td>
                                                                <td>
                                                                    {if t.revoked {
                                                                        view! { <span class="muted">"revoked"</span> }.into_any()
                                                                    } else {
                                                                        view! {
                                                                            <form method="post" action=action class="inline">
                                                                                <button type="submit" aria-label=format!("Revoke token {}", t.name)>
                                                                                    "Revoke"
                                                                                </button>
                                                                            </form>
                                                                        }
                                                                            .into_any()
                                                                    }}
                                                                </td>
                                                            </tr>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </tbody>
                                        </table>
                                    }
                                        .into_any()
                                }}
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </Layout>
    }
}
