//! The backend's error type. Rich inside; `app` maps it to the small client-safe `AppError`, and
//! only `Db` and `Unexpected` carry details that must never reach a browser.

use domain::club::{ProgramField, StageProblem};

/// A refused value, in words the admin can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The form input the problem belongs to (e.g. `min_purchase`), if any.
    pub field: Option<&'static str>,
    pub message: String,
}

/// Everything a backend operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("{0}")]
    Conflict(String),
    #[error("{}", .0.message)]
    Invalid(Invalid),
    #[error("not allowed")]
    Forbidden,
    #[error("not signed in")]
    Unauthorized,
    #[error("too many attempts; try again in {retry_after_minutes} minutes")]
    RateLimited { retry_after_minutes: i64 },
    #[error("database error")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The backend's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A validation failure on one field.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid(Invalid {
            field: Some(field),
            message: message.into(),
        })
    }
}

impl From<StageProblem> for Error {
    fn from(problem: StageProblem) -> Self {
        Self::invalid(problem.field.input_name(), problem.message)
    }
}

impl From<(ProgramField, String)> for Error {
    fn from((field, message): (ProgramField, String)) -> Self {
        let field = match field {
            ProgramField::Name => "name",
            ProgramField::Description => "description",
        };
        Self::invalid(field, message)
    }
}

/// Maps a named constraint violation to a domain error at the query call (realworld's pattern).
pub trait ResultExt<T> {
    /// Replaces a violation of `constraint` with `map()`; other errors pass through.
    fn on_constraint(self, constraint: &str, map: impl FnOnce() -> Error) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn on_constraint(self, constraint: &str, map: impl FnOnce() -> Error) -> Result<T> {
        self.map_err(|e| match e.into() {
            Error::Db(sqlx::Error::Database(db)) if db.constraint() == Some(constraint) => map(),
            other => other,
        })
    }
}
