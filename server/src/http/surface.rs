//! Every route the server answers and who may call it, in one table.
//!
//! The form, API and health routers are built through a [`RouteBook`], which records
//! each route with its [`Who`] as it registers it; the Leptos pages and server
//! functions are listed from the same route list and server-function registry the
//! router is built from, and [`page_rule`] / [`server_fn_rule`] say who may load them.
//! The README renders this table ([`routes_table`]) and the authorization matrix test
//! (`tests/tests/it/matrix.rs`) holds a running server to it for every role, so a
//! route added without an entry, or a handler that checks the wrong thing, fails.

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;
use axum::Router;
use slipway_model::Action;

/// How a route is reached, which decides how a client authenticates to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Surface {
    /// Load balancers' health checks: no authentication.
    Health,
    /// A server-rendered page (session cookie).
    Page,
    /// A Leptos server function: the data a page loads (session cookie).
    ServerFn,
    /// An HTML form post (session cookie, Origin checked).
    Form,
    /// The JSON API under `/api/v1` (bearer token only).
    Api,
    /// The live event stream (session cookie or bearer token).
    EventStream,
    /// Webhooks other systems send (signed by them; no session, no token).
    Webhook,
}

impl Surface {
    /// The name the README's table uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Health => "health",
            Surface::Page => "page",
            Surface::ServerFn => "server function",
            Surface::Form => "form",
            Surface::Api => "API",
            Surface::EventStream => "event stream",
            Surface::Webhook => "webhook",
        }
    }
}

/// Who may call a route. "Signed in" means an active session of an enabled user, or an
/// unrevoked, unexpired token of one; a user who must change a password an admin reset
/// is refused everything but [`Who::Always`] and [`Who::SignedIn`] routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Anyone, always (health checks, logging out, who am I).
    Always,
    /// Anyone, signed in or not, except a user who must first change their password
    /// (logging in, the one-time setup form, whose token the handler checks).
    Anyone,
    /// Anyone signed in, even before changing a reset password (the password form).
    SignedIn,
    /// Signed in, for their own account (sessions, API tokens): no role needed.
    OwnAccount,
    /// Signed in, with roles the policy allows `Action` to.
    May(Action),
    /// Signed in with one of the target stage's `promote_roles`.
    PromoteIntoStage,
    /// Signed in with one of the target stage's `rollback_roles`.
    RollBackStage,
    /// Signed in with roles that may lock the target stage (production or not).
    LockStage,
    /// Signed in with one of the target stage's `sign_off.roles` (nobody, on a stage
    /// that asks for no sign-off).
    SignOffStage,
    /// Signed in with one of the `approval.roles` of the request's stage (read from the
    /// request; never its requester where the stage has four eyes).
    ApproveRequest,
    /// GitHub: a body signed with the `[github]` webhook secret (`X-Hub-Signature-256`).
    GitHubSigned,
    /// A scraper with the `[metrics]` bearer token (no user; 404 while metrics are off).
    MetricsToken,
}

impl Who {
    /// The README's wording.
    pub fn describe(self) -> String {
        match self {
            Who::Always => "anyone, always".into(),
            Who::Anyone => "anyone (after a required password change)".into(),
            Who::SignedIn => "signed in, even before a required password change".into(),
            Who::OwnAccount => "signed in, for their own account".into(),
            Who::May(action) => format!("roles that may {}", action.describe()),
            Who::PromoteIntoStage => "the stage's `promote_roles`".into(),
            Who::RollBackStage => "the stage's `rollback_roles`".into(),
            Who::LockStage => "roles that may lock the stage (production: ops, admin)".into(),
            Who::SignOffStage => "the stage's `sign_off.roles`".into(),
            Who::ApproveRequest => {
                "the request's stage's `approval.roles` (not the requester, with four eyes)".into()
            }
            Who::GitHubSigned => {
                "GitHub, signed with the `[github]` webhook secret (no session or token)".into()
            }
            Who::MetricsToken => {
                "a scraper with the `[metrics]` token (no user; 404 while metrics are off)".into()
            }
        }
    }
}

/// One route: method, path (axum's syntax, `{param}`), surface and who may call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    /// The HTTP method.
    pub method: Method,
    /// The path pattern.
    pub path: String,
    /// How it is reached.
    pub surface: Surface,
    /// Who may call it; `None` for a page or server function missing from
    /// [`page_rule`] / [`server_fn_rule`] (the matrix test fails on it).
    pub who: Option<Who>,
}

/// A router under construction that records every route it registers.
pub struct RouteBook<S> {
    surface: Surface,
    router: Router<S>,
    entries: Vec<RouteEntry>,
}

impl<S: Clone + Send + Sync + 'static> RouteBook<S> {
    /// An empty book whose routes are reached through `surface`.
    pub fn new(surface: Surface) -> Self {
        Self {
            surface,
            router: Router::new(),
            entries: Vec::new(),
        }
    }

    fn add(mut self, method: Method, path: &str, who: Who, route: MethodRouter<S>) -> Self {
        // axum merges method routers registered for the same path.
        self.router = self.router.route(path, route);
        self.entries.push(RouteEntry {
            method,
            path: path.to_owned(),
            surface: self.surface,
            who: Some(who),
        });
        self
    }

    /// `GET path`, callable by `who`.
    pub fn get<H: Handler<T, S>, T: 'static>(self, path: &str, who: Who, handler: H) -> Self {
        self.add(Method::GET, path, who, axum::routing::get(handler))
    }

    /// `POST path`, callable by `who`.
    pub fn post<H: Handler<T, S>, T: 'static>(self, path: &str, who: Who, handler: H) -> Self {
        self.add(Method::POST, path, who, axum::routing::post(handler))
    }

    /// `DELETE path`, callable by `who`.
    pub fn delete<H: Handler<T, S>, T: 'static>(self, path: &str, who: Who, handler: H) -> Self {
        self.add(Method::DELETE, path, who, axum::routing::delete(handler))
    }

    /// Replaces the router (e.g. to add a fallback) keeping the entries.
    pub fn map_router(mut self, f: impl FnOnce(Router<S>) -> Router<S>) -> Self {
        self.router = f(self.router);
        self
    }

    /// Nests the book under `prefix`, prefixing its entries' paths.
    pub fn nest(self, prefix: &str) -> Self {
        let entries = self
            .entries
            .into_iter()
            .map(|e| RouteEntry {
                path: format!("{prefix}{}", e.path),
                ..e
            })
            .collect();
        Self {
            surface: self.surface,
            router: Router::new().nest(prefix, self.router),
            entries,
        }
    }

    /// Adds another book's routes and entries.
    pub fn merge(mut self, other: RouteBook<S>) -> Self {
        self.router = self.router.merge(other.router);
        self.entries.extend(other.entries);
        self
    }

    /// The router and what it registered.
    pub fn finish(self) -> (Router<S>, Vec<RouteEntry>) {
        (self.router, self.entries)
    }
}

/// Who may load a Leptos page (its server functions enforce the same).
pub fn page_rule(path: &str) -> Option<Who> {
    Some(match path {
        "/login" | "/setup" => Who::Anyone,
        "/password" => Who::SignedIn,
        "/"
        | "/profile"
        | "/deployments/{id}"
        | "/pipelines/{pipeline}"
        | "/pipelines/{pipeline}/stages/{stage}"
        | "/pipelines/{pipeline}/stages/{stage}/confirm"
        | "/pipelines/{pipeline}/compare"
        | "/pipelines/{pipeline}/calendar"
        | "/pipelines/{pipeline}/insights" => Who::May(Action::View),
        "/admin/users" => Who::May(Action::ManageUsers),
        "/admin/audit" => Who::May(Action::ViewAudit),
        _ => return None,
    })
}

/// Who may call a server function.
pub fn server_fn_rule(path: &str) -> Option<Who> {
    Some(match path.strip_prefix("/_fn/")? {
        // `me` answers "nobody" to anonymous callers; `setup` checks its token.
        "me" | "flash" => Who::Always,
        "setup" => Who::Anyone,
        "home" | "board" | "deployment" | "profile" | "history" | "compare" | "calendar"
        | "insights" | "confirm" => Who::May(Action::View),
        "users" => Who::May(Action::ManageUsers),
        "audit" | "deliveries" => Who::May(Action::ViewAudit),
        _ => return None,
    })
}

/// The README's table of routes, in path order.
pub fn routes_table(entries: &[RouteEntry]) -> String {
    let mut rows: Vec<&RouteEntry> = entries.iter().collect();
    rows.sort_by(|a, b| {
        (a.surface, &a.path, a.method.as_str()).cmp(&(b.surface, &b.path, b.method.as_str()))
    });
    let mut out =
        String::from("| surface | method | path | who may call it |\n|---|---|---|---|\n");
    for e in rows {
        out.push_str(&format!(
            "| {} | {} | `{}` | {} |\n",
            e.surface.as_str(),
            e.method,
            e.path,
            e.who
                .map_or_else(|| "**missing**".to_owned(), Who::describe)
        ));
    }
    out
}
