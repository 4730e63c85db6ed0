//! `/profile`: who you are, your password, your open sessions (end them) and your API
//! tokens (create, revoke).

use super::common::{ErrorPanel, Layout};
use super::password::PasswordForm;
use crate::server_fns::get_profile;
use leptos::prelude::*;
use leptos_meta::Title;
use slipway_model::views::SessionRow;

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
                                <h2>"Password"</h2>
                                <p class="hint">"Changing it ends your other sessions."</p>
                                <PasswordForm />
                                <Notifications rows=p.notifications.clone() />
                                <h2>"Sessions"</h2>
                                <p class="hint">
                                    "Where you are logged in. End any session you do not recognise, then change your password."
                                </p>
                                <Sessions rows=p.sessions />
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

/// The open sessions table.
#[component]
fn Sessions(rows: Vec<SessionRow>) -> impl IntoView {
    view! {
        <table class="users" data-testid="sessions">
            <thead>
                <tr>
                    <th scope="col">"Browser"</th>
                    <th scope="col">"Address"</th>
                    <th scope="col">"Started"</th>
                    <th scope="col">"Last active"</th>
                    <th scope="col">"Ends"</th>
                    <th scope="col"></th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|s| {
                        let action = format!("/profile/sessions/{}/end", s.id);
                        let label = if s.current { "Log out" } else { "End" };
                        view! {
                            <tr data-session=s.id.get()>
                                <td>
                                    {s.browser.clone()}
                                    {s.current.then(|| view! { <span class="badge current">"this session"</span> })}
                                </td>
                                <td>{s.client}</td>
                                <td>{s.started}</td>
                                <td>{s.last_seen}</td>
                                <td>{s.expires}</td>
                                <td>
                                    <form method="post" action=action class="inline">
                                        <button type="submit" aria-label=format!("End session {} ({})", s.id, s.browser)>
                                            {label}
                                        </button>
                                    </form>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// Notifications about what you asked for.
#[component]
fn Notifications(rows: Vec<slipway_model::views::NotificationRow>) -> impl IntoView {
    let unread = rows.iter().any(|n| n.unread);
    view! {
        <h2 id="notifications">"Notifications"</h2>
        {rows.is_empty().then(|| view! { <p class="meta">"Nothing yet."</p> })}
        <ul class="notifications" data-testid="notifications">
            {rows
                .into_iter()
                .map(|n| {
                    let text = format!("{} ({})", n.text, n.age);
                    view! {
                        <li class=if n.unread { "unread" } else { "" }>
                            {match n.link {
                                Some(link) => view! { <a href=link>{text}</a> }.into_any(),
                                None => view! { <span>{text}</span> }.into_any(),
                            }}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        {unread
            .then(|| {
                view! {
                    <form method="post" action="/profile/notifications/read" class="inline">
                        <button type="submit">"Mark all read"</button>
                    </form>
                }
            })}
    }
}
