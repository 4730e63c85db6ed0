//! The JSON API's OpenAPI document: generated from the handlers' `#[utoipa::path]`
//! attributes (in `api.rs`) and the types they take and return, served at
//! `/api/v1/openapi.json`. Schemathesis holds a running server to it
//! (`scripts/api-schema-check`); the tests below hold it to the router.

use super::{api, api_deployments, api_governance, api_insights};
use axum::Json;

/// The API's OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
/// attributes and the types they take and return (a test below holds it to the router).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Slipway API",
        description = "Everything the board can do, for CI systems and scripts. Authenticate with `Authorization: Bearer slw_…` (create a token on your profile page); the token acts with its owner's roles."
    ),
    servers((url = "/api/v1")),
    paths(
        api::board_state,
        api::mark_ready,
        api::unmark_ready,
        api::gates,
        api::promote,
        api::withdraw_queued,
        api::lock,
        api::unlock,
        api::rollback,
        api_deployments::deployment,
        api_deployments::log,
        api_deployments::cancel,
        api_governance::sign_off,
        api_governance::withdraw_sign_off,
        api_governance::list_freezes,
        api_governance::declare_freeze,
        api_governance::end_freeze,
        api_governance::request_approval,
        api_governance::list_requests,
        api_governance::approve,
        api_governance::reject,
        api_insights::insights
    ),
    modifiers(&BearerToken)
)]
pub struct ApiDoc;

/// Declares the `token` security scheme the paths name.
struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "token",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some("An API token: `slw_` and 43 characters"))
                        .build(),
                ),
            );
    }
}

/// `GET /api/v1/openapi.json`: public, like any API's description (it holds no data).
pub(super) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    static DOC: std::sync::LazyLock<utoipa::openapi::OpenApi> =
        std::sync::LazyLock::new(<ApiDoc as utoipa::OpenApi>::openapi);
    Json(DOC.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::api::routes;
    use std::collections::BTreeSet;

    #[test]
    fn the_openapi_document_describes_exactly_the_routes_the_router_serves() {
        let (_, entries) = routes().finish();
        let served: BTreeSet<(String, String)> = entries
            .iter()
            .filter(|e| e.path != "/openapi.json")
            .map(|e| (e.method.as_str().to_lowercase(), e.path.clone()))
            .collect();
        let doc = serde_json::to_value(<ApiDoc as utoipa::OpenApi>::openapi())
            .expect("the document serialises");
        let mut described = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("a path item").keys() {
                described.insert((method.clone(), path.clone()));
            }
        }
        assert_eq!(
            served, described,
            "a route without an OpenAPI entry, or an entry without a route"
        );
    }

    #[test]
    fn every_operation_says_how_it_fails_and_needs_a_token() {
        let doc = serde_json::to_value(<ApiDoc as utoipa::OpenApi>::openapi())
            .expect("the document serialises");
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("a path item") {
                let responses = op["responses"].as_object().expect("responses");
                for status in ["401", "403", "404"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} does not document {status}"
                    );
                }
                assert_eq!(
                    op["security"],
                    serde_json::json!([{ "token": [] }]),
                    "{method} {path}"
                );
            }
        }
        assert!(doc["components"]["securitySchemes"]["token"].is_object());
        assert_eq!(
            doc["components"]["schemas"]["Sha"]["pattern"],
            "^[0-9a-fA-F]{40}$"
        );
    }
}
