//! The admin frame: the winery's name, navigation and the sign-out button around every page.

use crate::auth::api::{Logout, current_admin};
use leptos::prelude::*;
use leptos_router::components::A;

/// Wraps an admin page.
#[component]
pub fn AdminLayout(children: Children) -> impl IntoView {
    let me = Resource::new(|| (), |_| current_admin());
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="topbar">
            <div class="topbar-inner">
                <span class="brand">"Vinculum"</span>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        me.await.ok().map(|me| view! {
                            <span class="winery" data-testid="winery-name">{me.org_name}</span>
                        })
                    })}
                </Suspense>
                <nav aria-label="Main">
                    <A href="/admin" exact=true>"Dashboard"</A>
                    <A href="/admin/club">"Club program"</A>
                    <A href="/admin/members">"Members"</A>
                    <A href="/admin/members/flagged">"Flagged"</A>
                    <A href="/admin/members/at-risk">"At risk"</A>
                    <A href="/admin/loyalty">"Loyalty"</A>
                    <A href="/admin/messages">"Messages"</A>
                    <A href="/admin/portal">"Portal"</A>
                    <A href="/admin/import">"Import"</A>
                    <A href="/admin/sync">"CRM sync"</A>
                    <A href="/admin/connection">"Connection"</A>
                </nav>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        me.await.ok().map(|me| view! {
                            <span class="who">{me.display_name.unwrap_or(me.email)}</span>
                        })
                    })}
                </Suspense>
                <ActionForm action=logout attr:class="inline">
                    <button type="submit" class="link">"Sign out"</button>
                </ActionForm>
            </div>
        </header>
        <main id="main">{children()}</main>
    }
}
