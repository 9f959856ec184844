//! Small widgets shared by the pages.

pub mod url;

use crate::error::AppError;
use leptos::prelude::*;

/// An error message in an alert region (announced by screen readers).
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    view! { <p class="notice error" role="alert">{error.to_string()}</p> }
}

/// The text of a `<textarea>`. The server writes a textarea's text into the page without escaping
/// it, so `</textarea>` in it would end the element early and an entity such as `&copy;` would
/// reach the browser as `©`. On the server `&` and `<` are escaped, and a newline goes first (the
/// HTML parser drops one right after `<textarea>`), so the browser shows exactly `raw`; in the
/// browser the text is set as it is.
pub fn textarea_text(raw: &str) -> String {
    if cfg!(feature = "ssr") {
        format!("\n{}", raw.replace('&', "&amp;").replace('<', "&lt;"))
    } else {
        raw.to_owned()
    }
}

/// A success message in a status region.
#[component]
pub fn SuccessNotice(message: String) -> impl IntoView {
    view! { <p class="notice success" role="status">{message}</p> }
}

#[cfg(test)]
mod tests {
    use super::textarea_text;

    #[test]
    fn textarea_text_survives_the_html_parser_on_the_server_and_is_kept_in_the_browser() {
        let raw = "\n<p>&copy;</p></textarea>";
        if cfg!(feature = "ssr") {
            assert_eq!(
                textarea_text(raw),
                "\n\n&lt;p>&amp;copy;&lt;/p>&lt;/textarea>"
            );
        } else {
            assert_eq!(textarea_text(raw), raw);
        }
    }
}
