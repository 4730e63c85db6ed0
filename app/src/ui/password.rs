//! `/password`: change your own password. After an admin reset, every other page
//! sends the user here until they have.

use super::common::Layout;
use crate::server_fns::get_me;
use leptos::prelude::*;
use leptos_meta::Title;

/// The change-password form (also on the profile page). Posts to `/password`.
#[component]
pub fn PasswordForm() -> impl IntoView {
    view! {
        <form method="post" action="/password" class="stack narrow" data-testid="password-form">
            <label for="pw-current">"Current password"</label>
            <input id="pw-current" name="current" type="password" autocomplete="current-password" required />
            <label for="pw-new">"New password (12 to 128 characters)"</label>
            <input id="pw-new" name="new" type="password" autocomplete="new-password" required minlength="12" maxlength="128" />
            <label for="pw-confirm">"New password again"</label>
            <input id="pw-confirm" name="confirm" type="password" autocomplete="new-password" required minlength="12" maxlength="128" />
            <label class="check">
                <input type="checkbox" name="revoke_tokens" value="1" />
                " Also revoke my API tokens"
            </label>
            <button type="submit" class="primary">"Change password"</button>
        </form>
    }
}

/// The page.
#[component]
pub fn PasswordPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| get_me());
    view! {
        <Title text="Change password · Slipway" />
        <Layout>
            <h1>"Change your password"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await
                        .ok()
                        .flatten()
                        .filter(|m| m.must_change_password)
                        .map(|_| {
                            view! {
                                <p class="panel notice" role="status" data-testid="must-change">
                                    "Your password was set by an admin. Choose your own to continue."
                                </p>
                            }
                        })
                })}
            </Suspense>
            <p class="hint">
                "Changing your password ends your other sessions (other browsers and devices)."
            </p>
            <PasswordForm />
        </Layout>
    }
}
