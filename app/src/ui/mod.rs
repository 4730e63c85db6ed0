//! Leptos components. Pages render on the server and hydrate in the browser; every
//! page also works with JavaScript off (plain forms that post and redirect).

mod admin;
mod approval;
mod audit;
mod board;
mod calendar;
mod card;
mod common;
mod confirm;
mod deployment;
mod freezes;
mod history;
mod home;
mod insights;
mod live;
mod login;
mod password;
mod profile;
mod setup;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, SsrMode, StaticSegment};

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::ssr::csp::set_for_page();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <HashedStylesheet options=options.clone() id="slipway" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: routes to pages. Pages render in `Async` mode so that the status,
/// title and data are complete before the first byte is sent.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Slipway" />
        <Router>
            <Routes fallback=|| view! { <common::NotFound /> }>
                <Route path=StaticSegment("login") view=login::LoginPage ssr=SsrMode::Async />
                <Route path=StaticSegment("") view=home::HomePage ssr=SsrMode::Async />
                <Route
                    path=(StaticSegment("deployments"), ParamSegment("id"))
                    view=deployment::DeploymentPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("admin"), StaticSegment("audit"))
                    view=audit::AuditPage
                    ssr=SsrMode::Async
                />
                <Route path=StaticSegment("profile") view=profile::ProfilePage ssr=SsrMode::Async />
                <Route path=StaticSegment("password") view=password::PasswordPage ssr=SsrMode::Async />
                <Route path=StaticSegment("setup") view=setup::SetupPage ssr=SsrMode::Async />
                <Route
                    path=(StaticSegment("admin"), StaticSegment("users"))
                    view=admin::UsersPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("pipelines"), ParamSegment("pipeline"), StaticSegment("stages"), ParamSegment("stage"))
                    view=history::StageHistoryPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("pipelines"), ParamSegment("pipeline"), StaticSegment("stages"), ParamSegment("stage"), StaticSegment("confirm"))
                    view=confirm::ConfirmPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("pipelines"), ParamSegment("pipeline"), StaticSegment("calendar"))
                    view=calendar::CalendarPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("pipelines"), ParamSegment("pipeline"), StaticSegment("insights"))
                    view=insights::InsightsPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("pipelines"), ParamSegment("pipeline"), StaticSegment("compare"))
                    view=history::ComparePage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("pipelines"), ParamSegment("pipeline"))
                    view=board::BoardPage
                    ssr=SsrMode::Async
                />
            </Routes>
        </Router>
    }
}
