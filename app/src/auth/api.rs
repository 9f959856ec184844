//! Server functions for signing in and out. Each is a thin adapter into `backend::auth`.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Who is signed in, as the header shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub email: String,
    pub display_name: Option<String>,
    pub org_name: String,
}

/// The demo account, shown on the sign-in page when the server runs in demo mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoAccount {
    pub email: String,
    pub password: String,
}

/// Where to go after signing in: a local path only (no open redirects).
pub fn safe_next(next: &str) -> String {
    let next = next.trim();
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.contains("://");
    if local && next.len() <= 512 {
        next.to_owned()
    } else {
        "/admin".to_owned()
    }
}

/// Checks the e-mail address and password, sets the session cookie and redirects to `next`.
#[server(prefix = "/api", endpoint = "auth/login")]
pub async fn login(email: String, password: String, next: String) -> Result<(), AppError> {
    use crate::ssr::{SESSION_COOKIE, client_ip, set_session_cookie, state, user_agent};
    let (token, _admin) = backend::auth::login(
        &state().pool,
        &email,
        &password,
        &client_ip(),
        user_agent().as_deref(),
        chrono::Utc::now(),
    )
    .await?;
    set_session_cookie(
        SESSION_COOKIE,
        token.expose(),
        backend::auth::SESSION_TTL.num_seconds(),
    );
    leptos_axum::redirect(&safe_next(&next));
    Ok(())
}

/// Ends the session and returns to the sign-in page.
#[server(prefix = "/api", endpoint = "auth/logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::ssr::{SESSION_COOKIE, cookie, set_session_cookie, state};
    if let Some(token) = cookie(SESSION_COOKIE) {
        backend::auth::logout(&state().pool, &token).await?;
    }
    set_session_cookie(SESSION_COOKIE, "", 0);
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in admin.
#[server(prefix = "/api", endpoint = "auth/me")]
pub async fn current_admin() -> Result<SignedIn, AppError> {
    let admin = crate::ssr::require_admin()?;
    Ok(SignedIn {
        email: admin.email,
        display_name: admin.display_name,
        org_name: admin.org_name,
    })
}

/// The demo account, when the server runs in demo mode.
#[server(prefix = "/api", endpoint = "auth/demo-login")]
pub async fn demo_login() -> Result<Option<DemoAccount>, AppError> {
    Ok(crate::ssr::state().ui.demo_mode.then(|| DemoAccount {
        email: backend::demo::DEMO_EMAIL.to_owned(),
        password: backend::demo::DEMO_PASSWORD.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/admin/club?x=1"), "/admin/club?x=1");
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(evil), "/admin", "{evil}");
        }
    }
}
