//! `AppError`, the only error a server function returns: small, stable and safe to show. Internal
//! details (database text, provider responses) never reach it; they are logged on the server
//! with a reference that the message repeats.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// What went wrong, in words for the person at the screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthorized,
    #[error("Your account is not allowed to do that.")]
    Forbidden,
    #[error("That {what} was not found.")]
    NotFound { what: String },
    /// A refused value; `field` names the form input when there is one.
    #[error("{message}")]
    Validation {
        field: Option<String>,
        message: String,
    },
    #[error("{message}")]
    Conflict { message: String },
    #[error("{message}")]
    RateLimited { message: String },
    #[error("The service is busy or restarting. Please try again in a moment.")]
    Unavailable,
    #[error(
        "Something went wrong on our side, and nothing was changed. If it keeps happening, quote reference {reference}."
    )]
    Internal { reference: String },
    #[error("The server could not be reached or did not understand the request: {0}")]
    Transport(String),
}

impl AppError {
    /// A validation failure on one form field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// The HTTP status a server function answers with for this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound { .. } => 404,
            Self::Validation { .. } => 422,
            Self::Conflict { .. } => 409,
            Self::RateLimited { .. } => 429,
            Self::Unavailable => 503,
            Self::Internal { .. } => 500,
            Self::Transport(_) => 400,
        }
    }

    /// The form input this error belongs to, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Validation { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The form's fields could not be read (a missing or mangled field).
            ServerFnErrorErr::Args(_) => Self::Validation {
                field: None,
                message: "The form was incomplete or out of date. Reload the page and try again."
                    .to_owned(),
            },
            ServerFnErrorErr::Request(e) => Self::Transport(e),
            other => Self::Transport(other.to_string()),
        }
    }
}
