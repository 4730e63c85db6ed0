//! `/admin/users`: the user list with every administration action (admins only; the
//! server function and each POST handler enforce it, not just this page).

use super::common::{ErrorPanel, Layout};
use crate::server_fns::list_users;
use leptos::prelude::*;
use leptos_meta::Title;
use slipway_model::views::{account_status, UserRow};

/// Every role, in display order, for the checkboxes.
const ROLES: [&str; 5] = ["viewer", "dev", "qa", "ops", "admin"];

/// Role checkboxes named `role`, with `checked` ticked; ids are unique per `prefix`.
#[component]
fn RoleBoxes(prefix: String, checked: Vec<String>) -> impl IntoView {
    ROLES
        .into_iter()
        .map(|r| {
            let id = format!("{prefix}-{r}");
            let label_for = id.clone();
            let on = checked.iter().any(|c| c == r);
            view! {
                <label class="check" for=label_for>
                    <input type="checkbox" id=id name="role" value=r checked=on />
                    {r}
                </label>
            }
        })
        .collect_view()
}

/// One user's row: roles form, status, last login, actions.
#[component]
fn UserLine(u: UserRow) -> impl IntoView {
    let name = u.name.clone();
    let status = account_status(u.disabled, u.must_change_password);
    let toggle = if u.disabled {
        ("/admin/users/enable", "Enable", "")
    } else {
        ("/admin/users/disable", "Disable", "danger")
    };
    view! {
        <tr data-user=name.clone()>
            <th scope="row">{name.clone()} {u.is_you.then(|| view! { <span class="badge">"you"</span> })}</th>
            <td>
                <form method="post" action="/admin/users/roles" class="roles">
                    <input type="hidden" name="name" value=name.clone() />
                    <RoleBoxes prefix=format!("roles-{name}") checked=u.roles />
                    <button type="submit" aria-label=format!("Save roles of {name}")>"Save roles"</button>
                </form>
            </td>
            <td data-testid="status">{status}</td>
            <td>{u.last_login.unwrap_or_else(|| "never".into())}</td>
            <td class="actions">
                {(!u.is_you)
                    .then(|| {
                        view! {
                            <form method="post" action=toggle.0 class="inline">
                                <input type="hidden" name="name" value=name.clone() />
                                <button type="submit" class=toggle.2 aria-label=format!("{} {name}", toggle.1)>
                                    {toggle.1}
                                </button>
                            </form>
                            <form method="post" action="/admin/users/reset-password" class="inline">
                                <input type="hidden" name="name" value=name.clone() />
                                <label class="check">
                                    <input type="checkbox" name="keep_tokens" value="1" />
                                    " keep their API tokens"
                                </label>
                                <button type="submit" aria-label=format!("Reset password of {name}")>
                                    "Reset password"
                                </button>
                            </form>
                        }
                    })}
            </td>
        </tr>
    }
}

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
                                <table class="users admin-users">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Name"</th>
                                            <th scope="col">"Roles"</th>
                                            <th scope="col">"Status"</th>
                                            <th scope="col">"Last login"</th>
                                            <th scope="col">"Actions"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {rows.into_iter().map(|u| view! { <UserLine u /> }).collect_view()}
                                    </tbody>
                                </table>
                                <h2>"New user"</h2>
                                <p class="hint">
                                    "The new user gets a temporary password, shown once, and must choose their own at first login."
                                </p>
                                <form method="post" action="/admin/users" class="new-user" data-testid="new-user">
                                    <label for="new-user-name">"User name"</label>
                                    <input id="new-user-name" name="name" required maxlength="64" autocomplete="off" />
                                    <fieldset>
                                        <legend>"Roles"</legend>
                                        <RoleBoxes prefix="new".to_owned() checked=vec!["viewer".to_owned()] />
                                    </fieldset>
                                    <button type="submit" class="primary">"Create user"</button>
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
