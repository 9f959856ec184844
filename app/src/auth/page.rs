//! The sign-in page. A plain form that works without JavaScript; errors come back on the page.

use super::api::{Login, demo_login};
use crate::components::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/login`.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || {
        query
            .read()
            .get("next")
            .unwrap_or_else(|| "/admin".to_owned())
    };
    let demo = Resource::new(|| (), |_| demo_login());
    let error = move || login.value().get().and_then(Result::err);

    view! {
        <Title text="Sign in · Vinculum"/>
        <div class="auth-page">
            <section class="card auth-card" aria-labelledby="sign-in-heading">
                <p class="brand">"Vinculum"</p>
                <h1 id="sign-in-heading">"Sign in to your winery"</h1>
                <ActionForm action=login attr:class="stack">
                    <input type="hidden" name="next" value=next/>
                    <label>
                        "E-mail address"
                        <input type="email" name="email" autocomplete="username" required maxlength="255"/>
                    </label>
                    <label>
                        "Password"
                        <input type="password" name="password" autocomplete="current-password" required maxlength="1024"/>
                    </label>
                    <button type="submit" class="primary" disabled=move || login.pending().get()>
                        {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
                {move || error().map(|e| view! { <ErrorNotice error=e/> })}
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        demo.await.ok().flatten().map(|d| view! {
                            <aside class="demo-hint" aria-label="Demo login">
                                <p><strong>"Demo winery"</strong>" — sign in with:"</p>
                                <p>"E-mail: "<code data-testid="demo-email">{d.email}</code></p>
                                <p>"Password: "<code data-testid="demo-password">{d.password}</code></p>
                            </aside>
                        })
                    })}
                </Suspense>
            </section>
        </div>
    }
}
