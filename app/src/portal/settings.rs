//! `/admin/portal`: the member portal's address, the winery's logo and colour, the sites allowed
//! to frame it, and the snippet that embeds it in the winery's website.

use crate::components::{ErrorNotice, SuccessNotice, textarea_text};
use crate::error::AppError;
use crate::layout::AdminLayout;
use domain::portal::PortalSettings;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The portal settings.
#[server(prefix = "/api", endpoint = "admin/portal-settings")]
pub async fn get_portal_settings() -> Result<PortalSettings, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::portal::settings(&state().pool, &admin).await?)
}

/// Saves the logo, colour and framing allow-list.
#[server(prefix = "/api", endpoint = "admin/save-portal-settings")]
pub async fn save_portal_settings(
    logo_url: String,
    brand_color: String,
    frame_ancestors: String,
) -> Result<(), AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    backend::portal::save_settings(
        &state().pool,
        &admin,
        &logo_url,
        &brand_color,
        &frame_ancestors,
    )
    .await?;
    leptos_axum::redirect("/admin/portal?saved=1");
    Ok(())
}

/// `/admin/portal`.
#[component]
pub fn PortalSettingsPage() -> impl IntoView {
    let save = ServerAction::<SavePortalSettings>::new();
    let settings = Resource::new(|| (), |_| get_portal_settings());
    let query = use_query_map();
    let saved = move || query.read().get("saved").is_some();
    view! {
        <Title text="Member portal · Vinculum"/>
        <AdminLayout>
            <div class="page">
                <h1>"Member portal"</h1>
                <Show when=saved>
                    <SuccessNotice message="The portal settings are saved.".to_owned()/>
                </Show>
                {move || save.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match settings.await {
                            Ok(s) => view! { <Settings s save/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

#[component]
fn Settings(s: PortalSettings, save: ServerAction<SavePortalSettings>) -> impl IntoView {
    let url = s.portal_url.clone();
    view! {
        <section class="card" aria-labelledby="address-heading">
            <h2 id="address-heading">"Address"</h2>
            <p>"Members sign in with a link sent to their e-mail address. Link to the portal from your website and e-mails:"</p>
            <p><a href=url.clone() data-testid="portal-url">{url.clone()}</a></p>
        </section>
        <section class="card" aria-labelledby="brand-heading">
            <h2 id="brand-heading">"Branding and framing"</h2>
            <ActionForm action=save attr:class="stack">
                <div class="field-grid">
                    <label>"Logo address (https)"
                        <input type="url" name="logo_url" value=s.logo_url.clone() maxlength="500" placeholder="https://www.example.com/logo.png"/>
                    </label>
                    <label>"Brand colour"
                        <input type="text" name="brand_color" value=s.brand_color.clone() maxlength="7" placeholder="#7b2d43" pattern="#[0-9a-fA-F]{6}"/>
                    </label>
                </div>
                <label>"Sites allowed to frame the portal (one per line)"
                    <textarea name="frame_ancestors" rows="3" placeholder="https://www.example.com">{textarea_text(&s.frame_ancestors)}</textarea>
                </label>
                <p class="hint">"Only these sites (and the portal itself) may show it in a frame; every other site is refused by the browser."</p>
                <button type="submit" class="primary">"Save"</button>
            </ActionForm>
        </section>
        <section class="card" aria-labelledby="embed-heading">
            <h2 id="embed-heading">"Embed it in your website"</h2>
            <p>"Paste this where the portal should appear, on a site listed above. Members who open a sign-in link from their e-mail land on the full page."</p>
            <label>"Embed snippet"
                <textarea readonly rows="3" data-testid="embed-snippet">{textarea_text(&s.embed_snippet)}</textarea>
            </label>
        </section>
    }
}
