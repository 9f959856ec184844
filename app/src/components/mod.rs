//! Small widgets shared by the pages.

pub mod url;

use crate::error::AppError;
use leptos::prelude::*;

/// An error message in an alert region (announced by screen readers).
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    view! { <p class="notice error" role="alert">{error.to_string()}</p> }
}

/// A success message in a status region.
#[component]
pub fn SuccessNotice(message: String) -> impl IntoView {
    view! { <p class="notice success" role="status">{message}</p> }
}
