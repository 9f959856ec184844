//! The member portal over HTTP: the strict CSP and security headers on every response, the
//! winery's framing allow-list, sign-in by link with plain form posts, the rate limit's answer,
//! and a member session that means nothing at another winery.

use crate::helpers::{TestApp, app_error};
use app::error::AppError;
use reqwest::Response;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

async fn slug_of(app: &TestApp, winery: domain::ids::ClientId) -> String {
    sqlx::query_scalar("select slug from clients where id = $1")
        .bind(winery.as_uuid())
        .fetch_one(&app.owner)
        .await
        .expect("slug")
}

async fn customer(app: &TestApp, winery: domain::ids::ClientId, email: &str, first: &str) {
    sqlx::query("insert into customers (client_id, email, first_name) values ($1, $2, $3)")
        .bind(winery.as_uuid())
        .bind(email)
        .bind(first)
        .execute(&app.owner)
        .await
        .expect("customer");
    sqlx::query(
        "insert into communication_configs (client_id, email_provider, email_from_address)
         values ($1, 'sandbox', 'club@example.com') on conflict do nothing",
    )
    .bind(winery.as_uuid())
    .execute(&app.owner)
    .await
    .expect("config");
}

/// Where a redirect points.
fn location(res: &Response) -> String {
    assert_eq!(res.status(), 302, "a redirect");
    res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned()
}

fn csp(res: &Response) -> String {
    res.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned()
}

/// The nonce of a CSP.
fn nonce(csp: &str) -> String {
    let start = csp.find("'nonce-").expect("a nonce") + "'nonce-".len();
    csp[start..].split('\'').next().expect("nonce").to_owned()
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn every_portal_response_carries_a_strict_csp_and_the_security_headers(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let slug = slug_of(&app, app.winery).await;
    let mut nonces = Vec::new();
    for path in [
        format!("/m/{slug}"),
        format!("/m/{slug}/rewards"),
        format!("/m/{slug}/sign-in?token=x"),
        format!("/m/{slug}/brand.css"),
        "/m/no-such-winery".to_owned(),
    ] {
        let res = app.get(&path).await;
        let policy = csp(&res);
        for directive in [
            "default-src 'self'",
            "script-src 'self' 'nonce-",
            "style-src 'self';",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ] {
            assert!(
                policy.contains(directive),
                "{path}: {directive} in {policy}"
            );
        }
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["x-frame-options"], "SAMEORIGIN", "{path}");
        assert!(h.contains_key("permissions-policy"), "{path}");
        let n = nonce(&policy);
        if path.ends_with(&slug) {
            // Every script on the page carries this response's nonce, and no other script exists.
            let html = res.text().await.expect("page");
            let tags: Vec<&str> = html
                .split("<script")
                .skip(1)
                .map(|rest| rest.split('>').next().unwrap_or_default())
                .collect();
            assert!(!tags.is_empty());
            for tag in tags {
                assert!(tag.contains(&format!("nonce=\"{n}\"")), "<script{tag}>");
            }
        }
        nonces.push(n);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 5, "a fresh nonce for every response");
    assert_eq!(app.get("/m/no-such-winery").await.status(), 404);
    let res = app
        .call("/api/portal/branding", &[("slug", "no-such-winery")])
        .await;
    assert_eq!(res.status(), 404);
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn the_winery_chooses_who_may_frame_its_portal_and_its_colour(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let slug = slug_of(&app, app.winery).await;
    app.sign_in().await;
    let save = async |ancestors: &str, color: &str| {
        app.call(
            "/api/admin/save-portal-settings",
            &[
                ("logo_url", "https://cdn.example.com/logo.png"),
                ("brand_color", color),
                ("frame_ancestors", ancestors),
            ],
        )
        .await
    };
    let res = save(
        "https://www.winery.example\nhttps://*.shop.example",
        "#7B2D43",
    )
    .await;
    assert!(res.status().is_success(), "{}", res.status());
    let res = app.get(&format!("/m/{slug}")).await;
    assert!(
        csp(&res)
            .ends_with("frame-ancestors 'self' https://www.winery.example https://*.shop.example"),
        "{}",
        csp(&res)
    );
    assert!(!res.headers().contains_key("x-frame-options"));
    let css = app
        .get(&format!("/m/{slug}/brand.css"))
        .await
        .text()
        .await
        .expect("css");
    assert!(css.contains("--wine: #7b2d43"), "{css}");

    // A value that would smuggle a directive in is refused, and nothing changes.
    let res = save("https://evil.example; script-src *", "#000000").await;
    assert_eq!(res.status(), 422);
    assert!(
        matches!(app_error(res).await, AppError::Validation { field: Some(f), .. } if f == "frame_ancestors")
    );
    let res = save("", "red").await;
    assert_eq!(res.status(), 422);
    let res = app.get(&format!("/m/{slug}")).await;
    assert!(csp(&res).contains("https://www.winery.example"));
    // Another winery's portal keeps its own (empty) list.
    let rival = slug_of(&app, app.rival).await;
    let res = app.get(&format!("/m/{rival}")).await;
    assert!(
        csp(&res).ends_with("frame-ancestors 'self'"),
        "{}",
        csp(&res)
    );
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn a_member_signs_in_with_plain_form_posts_and_the_session_stays_at_its_winery(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let slug = slug_of(&app, app.winery).await;
    let rival = slug_of(&app, app.rival).await;
    customer(&app, app.winery, "ann@example.com", "Ann").await;
    customer(&app, app.rival, "ann@example.com", "Annie").await;
    let home = format!("/m/{slug}");

    let res = app
        .post_form(
            "/api/portal/request-link",
            &[("slug", &slug), ("email", "ann@example.com")],
            &home,
        )
        .await;
    assert!(
        location(&res).ends_with(&format!("{home}?sent=1")),
        "{}",
        location(&res)
    );
    let text: String = sqlx::query_scalar(
        "select rendered_text from communication_log where client_id = $1 and template_type = 'portal_sign_in'",
    )
    .bind(app.winery.as_uuid())
    .fetch_one(&app.owner)
    .await
    .expect("the e-mail");
    let start = text.find("token=").expect("link") + "token=".len();
    let token = text[start..].split_whitespace().next().expect("token");
    let link = format!("/m/{slug}/sign-in?token={token}");
    // Opening the link does not spend it; the button does.
    let page = app.get(&link).await.text().await.expect("page");
    assert!(page.contains("Sign in"));
    let res = app
        .post_form(
            "/api/portal/sign-in",
            &[("slug", &slug), ("token", token)],
            &link,
        )
        .await;
    assert!(location(&res).ends_with(&home), "{}", location(&res));
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .expect("ascii")
            .contains("HttpOnly; SameSite=Lax")
    );
    let page = app.get(&home).await.text().await.expect("status page");
    assert!(page.contains("Hello, Ann"), "{page}");
    assert!(page.contains("Signed in as ann@example.com"));

    // The same cookie at the rival's portal: not signed in there.
    let res = app.call("/api/portal/status", &[("slug", &rival)]).await;
    let status: Option<domain::portal::StatusView> = res.json().await.expect("json");
    assert!(status.is_none());
    let res = app.call("/api/portal/rewards", &[("slug", &rival)]).await;
    assert_eq!(res.status(), 401);

    // Signing out ends it.
    let res = app
        .post_form("/api/portal/sign-out", &[("slug", &slug)], &home)
        .await;
    assert!(location(&res).contains("signed_out=1"));
    let res = app.call("/api/portal/status", &[("slug", &slug)]).await;
    let status: Option<domain::portal::StatusView> = res.json().await.expect("json");
    assert!(status.is_none());
    app.stop().await;
}

#[sqlx::test(migrator = "backend::MIGRATOR")]
async fn too_many_link_requests_get_a_friendly_429_and_a_bad_address_a_clear_error(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let app = TestApp::spawn(options).await;
    let slug = slug_of(&app, app.winery).await;
    let res = app
        .call(
            "/api/portal/request-link",
            &[("slug", &slug), ("email", "ann@@example")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(app_error(res).await.to_string().contains("e-mail address"));
    for _ in 0..backend::portal::MAX_REQUESTS_PER_EMAIL {
        let res = app
            .call(
                "/api/portal/request-link",
                &[("slug", &slug), ("email", "who@example.com")],
            )
            .await;
        assert!(res.status().is_success(), "{}", res.status());
    }
    let res = app
        .call(
            "/api/portal/request-link",
            &[("slug", &slug), ("email", "who@example.com")],
        )
        .await;
    assert_eq!(res.status(), 429);
    assert!(
        app_error(res)
            .await
            .to_string()
            .starts_with("Too many sign-in requests.")
    );
    app.stop().await;
}
