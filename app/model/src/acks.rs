//! What a promoter acknowledges of what the gates say (`acknowledge` status): the
//! migration files a deployment crosses, and that it overwrites a drifted stage. Each
//! acknowledgement may carry a note, kept with the deployment (or the approval request
//! whose server-started deploy carries it).

use crate::error::AppError;
use serde::{Deserialize, Serialize};

/// What a promoter (or the one rolling back) acknowledges of what the gates say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgements {
    /// The migration files the deployment crosses.
    pub migrations: Option<Acknowledgement>,
    /// That the deployment overwrites a drifted stage.
    pub drift: Option<Acknowledgement>,
}

impl Acknowledgements {
    /// From a form's or a request's fields: each flag with its optional note.
    pub fn from_fields(
        migrations: (bool, Option<&str>),
        drift: (bool, Option<&str>),
    ) -> Result<Self, AppError> {
        Ok(Acknowledgements {
            migrations: Acknowledgement::from_fields(migrations.0, migrations.1, "migrations")?,
            drift: Acknowledgement::from_fields(drift.0, drift.1, "drift")?,
        })
    }
}

/// "I acknowledge what the gate says", with an optional note kept with the deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub note: Option<String>,
}

/// The longest note an acknowledgement may carry.
const NOTE_MAX: usize = 500;

impl Acknowledgement {
    /// From a form's or a request's fields: `acknowledged` and an optional note. A note
    /// without the acknowledgement is refused: it would be recorded as acknowledging
    /// nothing.
    fn from_fields(
        acknowledged: bool,
        note: Option<&str>,
        what: &str,
    ) -> Result<Option<Self>, AppError> {
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        match (acknowledged, note) {
            (false, None) => Ok(None),
            (false, Some(_)) => Err(AppError::BadRequest(format!(
                "a note on the {what} goes with acknowledging them; tick the acknowledgement or leave the note empty"
            ))),
            (true, Some(n)) if n.chars().count() > NOTE_MAX => Err(AppError::BadRequest(format!(
                "the note on the {what} is longer than {NOTE_MAX} characters; shorten it"
            ))),
            (true, note) => Ok(Some(Acknowledgement {
                note: note.map(str::to_owned),
            })),
        }
    }
}
