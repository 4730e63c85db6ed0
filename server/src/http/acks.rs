//! The acknowledgement fields the promote and rollback forms and API bodies share.

use serde::Deserialize;
use slipway_core::promotion::Acknowledgements;
use slipway_model::error::AppError;
use utoipa::ToSchema;

/// What the promoter acknowledges of what the `migrations` and `drift` gates say
/// (both answer `acknowledge` until then), each with an optional note kept with the
/// deployment.
#[derive(Deserialize, ToSchema, Default)]
pub struct AckFields {
    /// Acknowledges the migration files the deployment crosses (or a rollback steps
    /// back over): tested against a copy of production data.
    #[serde(default)]
    acknowledge_migrations: bool,
    /// A note kept with that acknowledgement (only with `acknowledge_migrations`).
    #[serde(default)]
    #[schema(max_length = 500)]
    migrations_note: Option<String>,
    /// Acknowledges that the deployment overwrites a stage that drifted from its
    /// recorded SHA.
    #[serde(default)]
    acknowledge_drift: bool,
    /// A note kept with that acknowledgement (only with `acknowledge_drift`).
    #[serde(default)]
    #[schema(max_length = 500)]
    drift_note: Option<String>,
}

impl AckFields {
    /// The acknowledgements, or what is wrong with the fields.
    pub fn parse(&self) -> Result<Acknowledgements, AppError> {
        Acknowledgements::from_fields(
            (self.acknowledge_migrations, self.migrations_note.as_deref()),
            (self.acknowledge_drift, self.drift_note.as_deref()),
        )
    }
}

/// The same fields as a form sends them: a ticked checkbox is `true` (or `on`, a
/// browser's default), an unticked one is absent. Forms are read through a flattened
/// struct, where every value arrives as text, so the flag is parsed here.
#[derive(Deserialize, Default)]
pub struct AckForm {
    #[serde(default, deserialize_with = "checkbox")]
    acknowledge_migrations: bool,
    #[serde(default)]
    migrations_note: Option<String>,
    #[serde(default, deserialize_with = "checkbox")]
    acknowledge_drift: bool,
    #[serde(default)]
    drift_note: Option<String>,
}

impl AckForm {
    /// The acknowledgements, or what is wrong with the fields.
    pub fn parse(&self) -> Result<Acknowledgements, AppError> {
        Acknowledgements::from_fields(
            (self.acknowledge_migrations, self.migrations_note.as_deref()),
            (self.acknowledge_drift, self.drift_note.as_deref()),
        )
    }
}

/// A checkbox's value on a form: `true` (or `on`) when ticked.
pub(super) fn checkbox<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let text = String::deserialize(d)?;
    match text.as_str() {
        "true" | "on" => Ok(true),
        "false" | "" => Ok(false),
        other => Err(serde::de::Error::custom(format!(
            "a checkbox is sent as \"true\" or left out, got {other:?}"
        ))),
    }
}
