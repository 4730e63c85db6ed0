//! OpenAPI schemas of the validated strings, so the API's document says what
//! [`Sha::parse`] and the ids' `parse` accept (a client generator or Schemathesis then
//! knows a valid value from an invalid one). Server only: the wasm build never sees it.

use crate::ids::{PipelineId, StageId};
use crate::sha::Sha;
use std::borrow::Cow;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

fn string(pattern: &str, min: usize, max: usize, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .min_length(Some(min))
        .max_length(Some(max))
        .description(Some(description))
        .into()
}

macro_rules! string_schema {
    ($ty:ty, $name:literal, $pattern:expr, $min:expr, $max:expr, $description:literal) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                string($pattern, $min, $max, $description)
            }
        }

        impl utoipa::ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

string_schema!(
    Sha,
    "Sha",
    "^[0-9a-fA-F]{40}$",
    40,
    40,
    "A full 40-character commit SHA (either case; answers use lowercase)."
);
string_schema!(
    PipelineId,
    "PipelineId",
    "^[a-z0-9][a-z0-9-]{0,62}$",
    1,
    63,
    "A pipeline's config id."
);
string_schema!(
    StageId,
    "StageId",
    "^[a-z0-9][a-z0-9-]{0,62}$",
    1,
    63,
    "A stage's config id."
);
