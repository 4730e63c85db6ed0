//! `/admin/users`: the user list (admins only; the server function enforces it).

use super::common::{ErrorPanel, Layout};
use crate::server_fns::list_users;
use leptos::prelude::*;
use leptos_meta::Title;

/// The users page.
#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    view! {
        <Title text="Users · Administration · Slipway" />
        <Layout>
            <h1>"Users"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(rows) => {
                            view! {
                                <table class="users">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Name"</th>
                                            <th scope="col">"Roles"</th>
                                            <th scope="col">"Status"</th>
                                            <th scope="col">"Last login"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {rows
                                            .into_iter()
                                            .map(|u| {
                                                view! {
                                                    <tr>
                                                        <td>{u.name}</td>
                                                        <td>{u.roles.join(", ")}</td>
                                                        <td>{if u.disabled { "disabled" } else { "active" }}</td>
                                                        <td>{u.last_login.unwrap_or_else(|| "never".into())}</td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </Layout>
    }
}
