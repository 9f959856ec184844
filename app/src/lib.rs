//! Vinculum's Leptos UI (the winery admin, and later the member portal) and its server
//! functions. Pages render on the server and hydrate in the browser; every form also works
//! without JavaScript. Server functions are thin adapters: authorize, parse, call `backend`.

#![allow(clippy::needless_lifetimes, clippy::let_unit_value)]

pub mod auth;
pub mod club;
pub mod components;
pub mod error;
pub mod import;
pub mod layout;
pub mod loyalty;
pub mod members;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod sync;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{SsrMode, path};

/// The HTML document around the app. `<body>` holds exactly `<App/>`, which hydration expects.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="data:,"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: stylesheet, routes, and a hydration marker for tests.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, so this attribute appears once hydration has finished.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/vinculum.css"/>
        <Title text="Vinculum"/>
        <Router>
            <Routes fallback=NotFound>
                // Async: every resource resolves before the page is sent, so the complete page
                // arrives without JavaScript (streamed fallbacks would need a script to swap).
                <Route path=path!("/") view=|| view! { <Redirect path="/admin/club"/> } ssr=SsrMode::Async/>
                <Route path=path!("/login") view=auth::LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/club") view=club::ClubPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/members") view=members::MembersPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/members/flagged") view=members::FlaggedPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/members/:id") view=members::MemberPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/loyalty") view=loyalty::LoyaltyPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/import") view=import::ImportPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/import/:id") view=import::ImportRunPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/sync") view=sync::SyncPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

/// Any unknown path.
#[component]
fn NotFound() -> impl IntoView {
    view! {
        <Title text="Not found · Vinculum"/>
        <div class="page narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. "<a href="/admin/club">"Go to the club program"</a>"."</p>
        </div>
    }
}
