//! Vinculum's Leptos UI (the winery admin and the member portal) and its server
//! functions. Pages render on the server and hydrate in the browser; every form also works
//! without JavaScript. Server functions are thin adapters: authorize, parse, call `backend`.

#![allow(clippy::needless_lifetimes, clippy::let_unit_value)]

pub mod auth;
pub mod club;
pub mod comms;
pub mod components;
pub mod dashboard;
pub mod error;
pub mod import;
pub mod layout;
pub mod loyalty;
pub mod members;
pub mod portal;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod sync;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{SsrMode, path};

/// Runs before anything else on every page. A launch from Commerce7 opens the admin with `vt=`
/// (Vinculum's short-lived token) and `theme=`; both are kept in the tab's session storage. The
/// token is then added as `Authorization: Bearer` to this site's requests (server functions) and
/// as `vt=` to its links and GET forms (full page loads), so nothing depends on a cookie inside
/// the iframe. Without a token (standalone sign-in) it does nothing.
const EMBEDDED_SCRIPT: &str = r#"(function(){try{
var q=new URLSearchParams(location.search),s=window.sessionStorage;
if(q.get('vt')){s.setItem('vinculum.vt',q.get('vt'));}
if(q.get('theme')){s.setItem('vinculum.theme',q.get('theme'));}
if(s.getItem('vinculum.theme')==='dark'){document.documentElement.setAttribute('data-theme','dark');}
var t=s.getItem('vinculum.vt');if(!t){return;}
var own=function(u){try{return new URL(u,location.href).origin===location.origin;}catch(e){return false;}};
var f=window.fetch;
window.fetch=function(input,init){
var url=typeof input==='string'?input:(input&&input.url)||'';
if(own(url)){init=init||{};var h=new Headers(init.headers||(typeof input!=='string'&&input.headers)||{});
if(!h.has('Authorization')){h.set('Authorization','Bearer '+t);}init.headers=h;}
return f.call(this,input,init);};
document.addEventListener('submit',function(e){var form=e.target;
if(form&&(form.method||'').toLowerCase()==='get'&&!form.querySelector('input[name=vt]')){
var i=document.createElement('input');i.type='hidden';i.name='vt';i.value=t;form.appendChild(i);}},true);
document.addEventListener('click',function(e){var a=e.target&&e.target.closest&&e.target.closest('a[href]');
if(!a||!own(a.href)){return;}var u=new URL(a.href);
if(!u.searchParams.has('vt')){u.searchParams.set('vt',t);a.setAttribute('href',u.pathname+u.search+u.hash);}},true);
}catch(e){}})();"#;

/// The HTML document around the app. `<body>` holds exactly `<App/>`, which hydration expects.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    ssr::provide_csp_nonce();
    let nonce = leptos::nonce::use_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="data:,"/>
                // Inside a CRM's admin (no third-party cookies): keeps the launch token and theme
                // for the tab, and sends the token with every request of this site.
                <script nonce=nonce inner_html=EMBEDDED_SCRIPT></script>
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
                <Route path=path!("/") view=|| view! { <Redirect path="/admin"/> } ssr=SsrMode::Async/>
                <Route path=path!("/admin") view=dashboard::DashboardPage ssr=SsrMode::Async/>
                <Route path=path!("/login") view=auth::LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/club") view=club::ClubPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/members") view=members::MembersPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/members/flagged") view=members::FlaggedPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/members/at-risk") view=dashboard::AtRiskPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/members/:id") view=members::MemberPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/loyalty") view=loyalty::LoyaltyPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/import") view=import::ImportPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/import/:id") view=import::ImportRunPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/sync") view=sync::SyncPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/connection") view=sync::ConnectionPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/messages") view=comms::MessageSettingsPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/messages/templates") view=comms::TemplatesPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/messages/templates/:kind/:channel") view=comms::TemplateEditorPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/messages/outbox") view=comms::OutboxPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/messages/outbox/:id") view=comms::MessagePage ssr=SsrMode::Async/>
                <Route path=path!("/admin/portal") view=portal::PortalSettingsPage ssr=SsrMode::Async/>
                <Route path=path!("/m/:slug") view=portal::PortalHome ssr=SsrMode::Async/>
                <Route path=path!("/m/:slug/sign-in") view=portal::PortalSignInPage ssr=SsrMode::Async/>
                <Route path=path!("/m/:slug/rewards") view=portal::PortalRewardsPage ssr=SsrMode::Async/>
                <Route path=path!("/m/:slug/rewards/:id") view=portal::PortalRedeemPage ssr=SsrMode::Async/>
                <Route path=path!("/m/:slug/messages") view=portal::PortalMessagesPage ssr=SsrMode::Async/>
                <Route path=path!("/m/:slug/statement") view=portal::PortalStatementPage ssr=SsrMode::Async/>
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
            <p>"There is nothing at this address. "<a href="/admin">"Go to the dashboard"</a>"."</p>
        </div>
    }
}
