//! Member communications from the admin's side: the settings (`/admin/messages`), the templates
//! and their editor with a live preview rendered by the same engine the server sends with
//! (`/admin/messages/templates…`), and the outbox with each message in full
//! (`/admin/messages/outbox…`).

pub mod api;
mod outbox;
mod settings;
mod templates;

pub use outbox::{MessagePage, OutboxPage};
pub use settings::MessageSettingsPage;
pub use templates::{TemplateEditorPage, TemplatesPage};

use leptos::prelude::*;
use leptos_router::components::A;

/// The tabs of the messaging pages.
#[component]
fn MessagesNav() -> impl IntoView {
    view! {
        <nav class="subnav" aria-label="Messages">
            <A href="/admin/messages" exact=true>"Settings"</A>
            <A href="/admin/messages/templates">"Templates"</A>
            <A href="/admin/messages/outbox">"Outbox"</A>
        </nav>
    }
}
