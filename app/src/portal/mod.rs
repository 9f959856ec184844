//! The member portal (`/m/{winery}`): sign-in by e-mailed link, the status page, rewards, message
//! choices and the savings statement. Branded as the winery, mobile-first, and complete without
//! JavaScript: every action is a form post, every result a page.

pub mod api;
pub mod settings;

use crate::components::{ErrorNotice, SuccessNotice};
use crate::error::AppError;
use api::{
    RedeemReward, RequestSignInLink, SaveMessages, SignInWithLink, SignOutMember, portal_branding,
    portal_messages, portal_rewards, portal_statement, portal_status,
};
use domain::portal::{Branding, RewardsView, StatementView, StatusView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map, use_query_map};

pub use settings::PortalSettingsPage;

fn slug() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let params = use_params_map();
    move || params.read().get("slug").unwrap_or_default()
}

/// The page's slug and query: a form's redirect back to the same page (`?saved=1`) changes the
/// query, which reloads the page's data when JavaScript navigates without a full load.
fn page_key() -> impl Fn() -> (String, String) + Copy + Send + Sync + 'static {
    let slug = slug();
    let location = use_location();
    move || (slug(), location.search.get())
}

fn query_flag(name: &'static str) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.read().get(name).is_some()
}

/// The winery's frame around a portal page: logo or name, its colour, and (for a signed-in
/// member) the navigation and the sign-out button.
#[component]
fn PortalFrame(children: Children) -> impl IntoView {
    let slug = slug();
    let head_data = Resource::new(page_key(), |(slug, _)| portal_branding(slug));
    let head = move |b: Branding| {
        let home = format!("/m/{}", b.slug);
        let name = b.name.clone();
        let logo = (!b.logo_url.is_empty()).then(|| b.logo_url.clone());
        view! {
            <a class="portal-brand" href=home>
                {match logo {
                    Some(src) => view! { <img src=src alt=name.clone() class="portal-logo"/> }.into_any(),
                    None => view! { <span class="portal-name">{name.clone()}</span> }.into_any(),
                }}
            </a>
        }
    };
    view! {
        <link rel="stylesheet" href=move || format!("/m/{}/brand.css", slug())/>
        <div class="portal">
            <header class="portal-head">
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match head_data.await {
                            Ok((b, signed_in)) => {
                                let title = format!("{} · Members", b.name);
                                view! {
                                    <Title text=title/>
                                    {head(b)}
                                    {signed_in.then(|| view! { <MemberNav/> })}
                                }.into_any()
                            }
                            Err(error) => {
                                #[cfg(feature = "ssr")]
                                if let (AppError::NotFound { .. }, Some(res)) =
                                    (&error, use_context::<leptos_axum::ResponseOptions>())
                                {
                                    res.set_status(axum::http::StatusCode::NOT_FOUND);
                                }
                                let _ = error;
                                view! { <span class="portal-name">"Member portal"</span> }.into_any()
                            }
                        }
                    })}
                </Suspense>
            </header>
            <main id="main" class="portal-main">{children()}</main>
        </div>
    }
}

/// The signed-in member's navigation and sign-out button.
#[component]
fn MemberNav() -> impl IntoView {
    let slug = slug();
    let sign_out = ServerAction::<SignOutMember>::new();
    view! {
        <nav class="portal-nav" aria-label="Member">
            <a href=move || format!("/m/{}", slug())>"Status"</a>
            <a href=move || format!("/m/{}/rewards", slug())>"Rewards"</a>
            <a href=move || format!("/m/{}/messages", slug())>"Messages"</a>
            <a href=move || format!("/m/{}/statement", slug())>"Statement"</a>
            <ActionForm action=sign_out attr:class="inline">
                <input type="hidden" name="slug" value=slug/>
                <button type="submit" class="link">"Sign out"</button>
            </ActionForm>
        </nav>
    }
}

/// Shown when a page needs a member and nobody is signed in.
#[component]
fn SignInFirst(error: AppError) -> impl IntoView {
    let slug = slug();
    match error {
        AppError::Unauthorized => view! {
            <section class="card">
                <h1>"Please sign in"</h1>
                <p>"Your session has ended. "<a href=move || format!("/m/{}", slug())>"Sign in again"</a>"."</p>
            </section>
        }
        .into_any(),
        error => view! { <ErrorNotice error/> }.into_any(),
    }
}

/// `/m/:slug`: the status page for a signed-in member, else the sign-in form.
#[component]
pub fn PortalHome() -> impl IntoView {
    let status = Resource::new(page_key(), |(slug, _)| portal_status(slug));
    view! {
        <PortalFrame>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(Some(view)) => view! { <Status view/> }.into_any(),
                        Ok(None) => view! { <RequestLink/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
        </PortalFrame>
    }
}

/// The address form.
#[component]
fn RequestLink() -> impl IntoView {
    let slug = slug();
    let request = ServerAction::<RequestSignInLink>::new();
    let sent = query_flag("sent");
    let signed_out = query_flag("signed_out");
    view! {
        <section class="card" aria-labelledby="sign-in-heading">
            <h1 id="sign-in-heading">"Member sign-in"</h1>
            <Show when=signed_out>
                <SuccessNotice message="You are signed out.".to_owned()/>
            </Show>
            <Show when=sent>
                <p class="notice success" role="status" data-testid="link-sent">
                    "Check your inbox. If that address belongs to a member, we have sent a sign-in link. It works once, for 30 minutes."
                </p>
            </Show>
            <p>"Enter the e-mail address you shop with. We will send you a link to sign in: no password needed."</p>
            <ActionForm action=request attr:class="stack">
                <input type="hidden" name="slug" value=slug/>
                <label>
                    "E-mail address"
                    <input type="email" name="email" autocomplete="email" required maxlength="255"/>
                </label>
                <button type="submit" class="primary">"Send me a sign-in link"</button>
            </ActionForm>
            {move || request.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
        </section>
    }
}

/// `/m/:slug/sign-in?token=…`: the link from the e-mail. A button spends it (a mail scanner that
/// opens every link cannot).
#[component]
pub fn PortalSignInPage() -> impl IntoView {
    let slug = slug();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let sign_in = ServerAction::<SignInWithLink>::new();
    view! {
        <PortalFrame>
            <section class="card" aria-labelledby="link-heading">
                <h1 id="link-heading">"Sign in"</h1>
                <p>"Welcome back. Press the button to open your membership."</p>
                <ActionForm action=sign_in attr:class="stack">
                    <input type="hidden" name="slug" value=slug/>
                    <input type="hidden" name="token" value=token/>
                    <button type="submit" class="primary">"Sign in"</button>
                </ActionForm>
                {move || sign_in.value().get().and_then(Result::err).map(|error| view! {
                    <ErrorNotice error/>
                    <p><a href=move || format!("/m/{}", slug())>"Ask for a new sign-in link"</a></p>
                })}
            </section>
        </PortalFrame>
    }
}

#[component]
fn Status(view: StatusView) -> impl IntoView {
    let slug = slug();
    let StatusView {
        first_name,
        email,
        membership,
        join,
        membership_days,
        saved,
        points,
    } = view;
    let greeting = if first_name.is_empty() {
        "Hello".to_owned()
    } else {
        format!("Hello, {first_name}")
    };
    let club = match membership {
        Some(m) => {
            let days = if m.days_left == 1 {
                "1 day left".to_owned()
            } else {
                format!("{} days left", m.days_left)
            };
            view! {
                <section class="card portal-status" aria-labelledby="membership-heading">
                    <h2 id="membership-heading">"Your membership"</h2>
                    <p class="portal-stage" data-testid="portal-stage">
                        <strong>{m.stage.clone()}</strong>" · "{format!("{} off every order", m.discount)}
                    </p>
                    <p data-testid="portal-expiry">{format!("Valid until {} ({days}).", m.expires_on)}</p>
                    <h3>"What's next"</h3>
                    <ul class="portal-next">
                        {m.next.renew.clone().map(|r| view! { <li data-testid="portal-renew">{r}</li> })}
                        {m.next.upgrade.clone().map(|u| view! { <li data-testid="portal-upgrade">{u}</li> })}
                        {m.next.upgrade.is_none().then(|| view! { <li>"You are on our top stage. Thank you!"</li> })}
                    </ul>
                    <p class="muted">{format!("Member since {}.", m.member_since)}</p>
                </section>
            }
            .into_any()
        }
        None => view! {
            <section class="card" aria-labelledby="join-heading">
                <h2 id="join-heading">"Join the club"</h2>
                <p>"You are not a club member right now. One qualifying order makes you one, and the discount applies automatically from your next order."</p>
                <ul data-testid="portal-join">
                    {join.into_iter().map(|j| view! { <li>{j}</li> }).collect_view()}
                </ul>
            </section>
        }
        .into_any(),
    };
    let progress = if points.earning {
        "You earn points on every order.".to_owned()
    } else {
        format!(
            "{} of {} days: you start earning points after {} days of membership.",
            points.progress_days.min(points.threshold_days),
            points.threshold_days,
            points.threshold_days
        )
    };
    let recent = points.recent.clone();
    view! {
        <h1>{greeting}</h1>
        <p class="muted">{format!("Signed in as {email}")}</p>
        {club}
        <section class="card" aria-labelledby="points-heading">
            <h2 id="points-heading">"Your points"</h2>
            <p class="portal-balance" data-testid="portal-balance">
                <strong>{format!("{} points", points.balance)}</strong>{format!(" (worth {})", points.value)}
            </p>
            <p data-testid="portal-progress">{progress}</p>
            <p class="muted">{format!("{membership_days} days as a member in all.")}</p>
            <p><a class="button" href=move || format!("/m/{}/rewards", slug())>"See rewards"</a></p>
            {(!recent.is_empty()).then(|| view! {
                <table class="portal-ledger">
                    <caption>"Recent points"</caption>
                    <thead><tr><th scope="col">"Date"</th><th scope="col">"Reason"</th><th scope="col" class="num">"Points"</th></tr></thead>
                    <tbody>
                        {recent.into_iter().map(|l| view! {
                            <tr>
                                <td>{l.on}</td>
                                <td>{l.reason}</td>
                                <td class="num">{if l.points > 0 { format!("+{}", l.points) } else { l.points.to_string() }}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
        <section class="card" aria-labelledby="savings-heading">
            <h2 id="savings-heading">"Your savings"</h2>
            <p data-testid="portal-saved">{format!("You have saved {saved} with member discounts.")}</p>
            <p><a href=move || format!("/m/{}/statement", slug())>"See your savings statement"</a></p>
        </section>
    }
}

/// `/m/:slug/rewards`.
#[component]
pub fn PortalRewardsPage() -> impl IntoView {
    let query = use_query_map();
    let rewards = Resource::new(page_key(), |(slug, _)| portal_rewards(slug));
    let redeemed = move || query.read().get("redeemed");
    view! {
        <PortalFrame>
            <h1>"Rewards"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match rewards.await {
                        Ok(view) => view! { <Rewards view redeemed=redeemed()/> }.into_any(),
                        Err(error) => view! { <SignInFirst error/> }.into_any(),
                    }
                })}
            </Suspense>
        </PortalFrame>
    }
}

#[component]
fn Rewards(view: RewardsView, redeemed: Option<String>) -> impl IntoView {
    let slug = slug();
    let done = redeemed.and_then(|id| {
        view.history.first().filter(|_| !id.is_empty()).map(|h| {
            format!(
                "You redeemed {}. Your balance is now {} points.",
                h.reward, view.balance
            )
        })
    });
    view! {
        {done.map(|message| view! { <p class="notice success" role="status" data-testid="redeemed">{message}</p> })}
        <p class="portal-balance">"Your balance: "<strong data-testid="rewards-balance">{format!("{} points", view.balance)}</strong></p>
        <ul class="portal-rewards">
            {view.rewards.into_iter().map(|r| {
                let href = format!("/m/{}/rewards/{}", slug(), r.id);
                view! {
                    <li class="card portal-reward">
                        <h2>{r.name.clone()}</h2>
                        {(!r.description.is_empty()).then(|| view! { <p>{r.description.clone()}</p> })}
                        <p><strong>{format!("{} points", r.points)}</strong>
                            {(!r.stock.is_empty()).then(|| format!(" · {}", r.stock))}
                            {(!r.window.is_empty()).then(|| format!(" · {}", r.window))}
                        </p>
                        {match r.blocked {
                            Some(why) => view! { <p class="muted">{why}</p> }.into_any(),
                            None => view! {
                                <p><a class="button" href=href aria-label=format!("Redeem {}", r.name)>"Redeem"</a></p>
                            }.into_any(),
                        }}
                    </li>
                }
            }).collect_view()}
        </ul>
        <section class="card" aria-labelledby="history-heading">
            <h2 id="history-heading">"Your redemptions"</h2>
            {if view.history.is_empty() {
                view! { <p class="muted">"None yet."</p> }.into_any()
            } else {
                view! {
                    <table data-testid="redemption-history">
                        <thead><tr><th scope="col">"Date"</th><th scope="col">"Reward"</th><th scope="col" class="num">"Points"</th><th scope="col">"Status"</th></tr></thead>
                        <tbody>
                            {view.history.into_iter().map(|h| view! {
                                <tr><td>{h.on}</td><td>{h.reward}</td><td class="num">{h.points}</td><td>{h.status}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// `/m/:slug/rewards/:id`: the confirmation, with the balance after.
#[component]
pub fn PortalRedeemPage() -> impl IntoView {
    let slug = slug();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let rewards = Resource::new(page_key(), |(slug, _)| portal_rewards(slug));
    let redeem = ServerAction::<RedeemReward>::new();
    view! {
        <PortalFrame>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let view = match rewards.await {
                        Ok(view) => view,
                        Err(error) => return view! { <SignInFirst error/> }.into_any(),
                    };
                    let Some(reward) = view.rewards.into_iter().find(|r| r.id == id()) else {
                        return view! {
                            <ErrorNotice error=AppError::NotFound { what: "reward".to_owned() }/>
                            <p><a href=move || format!("/m/{}/rewards", slug())>"Back to the rewards"</a></p>
                        }.into_any();
                    };
                    view! {
                        <section class="card" aria-labelledby="confirm-heading">
                            <h1 id="confirm-heading">{format!("Redeem {}?", reward.name)}</h1>
                            <dl class="facts">
                                <div><dt>"Cost"</dt><dd>{format!("{} points", reward.points)}</dd></div>
                                <div><dt>"Your balance"</dt><dd>{format!("{} points", view.balance)}</dd></div>
                                <div><dt>"Balance after"</dt><dd data-testid="balance-after">{format!("{} points", reward.balance_after)}</dd></div>
                            </dl>
                            {reward.blocked.clone().map(|why| view! { <p class="notice warn" role="note">{why}</p> })}
                            <ActionForm action=redeem attr:class="stack">
                                <input type="hidden" name="slug" value=slug/>
                                <input type="hidden" name="reward" value=reward.id.clone()/>
                                <button type="submit" class="primary">"Confirm redemption"</button>
                            </ActionForm>
                            {move || redeem.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
                            <p><a href=move || format!("/m/{}/rewards", slug())>"Cancel"</a></p>
                        </section>
                    }.into_any()
                })}
            </Suspense>
        </PortalFrame>
    }
}

fn checkbox(name: &'static str, label: &'static str, on: bool) -> impl IntoView {
    view! {
        <label class="check"><input type="checkbox" name=name value="on" checked=on/>" "{label}</label>
    }
}

/// `/m/:slug/messages`: e-mail and text switches per family, texts consent, unsubscribe from all.
#[component]
pub fn PortalMessagesPage() -> impl IntoView {
    let slug = slug();
    let choices = Resource::new(page_key(), |(slug, _)| portal_messages(slug));
    let save = ServerAction::<SaveMessages>::new();
    let saved = query_flag("saved");
    view! {
        <PortalFrame>
            <h1>"Your messages"</h1>
            <Show when=saved>
                <p class="notice success" role="status" data-testid="messages-saved">"Your choices are saved."</p>
            </Show>
            {move || save.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let c = match choices.await {
                        Ok(c) => c,
                        Err(error) => return view! { <SignInFirst error/> }.into_any(),
                    };
                    let p = c.preferences;
                    let consent = match &c.sms_opt_in_on {
                        Some(on) => format!("Texts are on for {} since {on}.", c.phone),
                        None => "Texts are off.".to_owned(),
                    };
                    view! {
                        <ActionForm action=save attr:class="stack portal-messages">
                            <input type="hidden" name="slug" value=slug/>
                            <fieldset>
                                <legend>{format!("E-mail to {}", c.email)}</legend>
                                {checkbox("choices[email_monthly_status]", "Monthly status", p.email_monthly_status)}
                                {checkbox("choices[email_expiration_warnings]", "Expiration warnings", p.email_expiration_warnings)}
                                {checkbox("choices[email_promotions]", "Offers and news", p.email_promotions)}
                            </fieldset>
                            <fieldset>
                                <legend>"Texts"</legend>
                                <p data-testid="sms-state">{consent}</p>
                                {checkbox("choices[sms_opt_in]", "Yes, send me texts", p.sms_opted_in)}
                                <label>"Mobile number"
                                    <input type="tel" name="choices[phone]" value=c.phone.clone() placeholder="+15551234567" autocomplete="tel"/>
                                </label>
                                <p class="hint">{c.consent_text.clone()}</p>
                                {checkbox("choices[sms_monthly_status]", "Monthly status by text", p.sms_monthly_status)}
                                {checkbox("choices[sms_expiration_warnings]", "Expiration warnings by text", p.sms_expiration_warnings)}
                                {checkbox("choices[sms_promotions]", "Offers by text", p.sms_promotions)}
                            </fieldset>
                            <fieldset>
                                <legend>"Everything"</legend>
                                {checkbox("choices[unsubscribed_all]", "Unsubscribe from all messages", p.unsubscribed_all)}
                            </fieldset>
                            <button type="submit" class="primary">"Save my choices"</button>
                        </ActionForm>
                    }.into_any()
                })}
            </Suspense>
        </PortalFrame>
    }
}

/// `/m/:slug/statement`: the savings statement, laid out to print.
#[component]
pub fn PortalStatementPage() -> impl IntoView {
    let statement = Resource::new(page_key(), |(slug, _)| portal_statement(slug));
    view! {
        <PortalFrame>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match statement.await {
                        Ok(view) => view! { <Statement view/> }.into_any(),
                        Err(error) => view! { <SignInFirst error/> }.into_any(),
                    }
                })}
            </Suspense>
        </PortalFrame>
    }
}

#[component]
fn Statement(view: StatementView) -> impl IntoView {
    view! {
        <article class="card statement" aria-labelledby="statement-heading">
            <h1 id="statement-heading">"Savings statement"</h1>
            <p>{format!("{} · {}", view.name, view.email)}</p>
            <p class="muted">{format!("As of {}", view.as_of)}</p>
            <dl class="facts">
                <div><dt>"Saved with member discounts"</dt><dd data-testid="statement-saved">{view.saved.clone()}</dd></div>
                <div><dt>"Orders as a member"</dt><dd>{format!("{} ({})", view.member_orders, view.member_spend)}</dd></div>
                <div><dt>"Points earned"</dt><dd>{view.points_earned}</dd></div>
                <div><dt>"Points redeemed"</dt><dd>{view.points_redeemed}</dd></div>
                <div><dt>"Days as a member"</dt><dd data-testid="statement-days">{view.membership_days}</dd></div>
                <div><dt>"Current stage"</dt><dd>{view.current_stage.clone().unwrap_or_else(|| "Not a member".to_owned())}</dd></div>
            </dl>
            <h2>"Your club history"</h2>
            {if view.history.is_empty() {
                view! { <p class="muted">"No club history yet."</p> }.into_any()
            } else {
                view! {
                    <table data-testid="statement-history">
                        <thead><tr><th scope="col">"Date"</th><th scope="col">"What happened"</th></tr></thead>
                        <tbody>
                            {view.history.into_iter().map(|h| view! { <tr><td>{h.on}</td><td>{h.text}</td></tr> }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <p class="muted print-hide">"Use your browser's Print command to keep a copy."</p>
        </article>
    }
}
