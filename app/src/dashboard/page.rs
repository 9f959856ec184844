//! `/admin`: the period form, the figures (each a link to what it counts) and the charts. The
//! period is a GET form, so every view has its own address and works without JavaScript.

use super::api::get_dashboard;
use super::charts::{Chart, ExpiryCalendar, Kind, thousands};
use crate::components::ErrorNotice;
use crate::components::url::with_query;
use crate::layout::AdminLayout;
use domain::analytics::{Dashboard, EXPIRING_DAYS};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/admin`.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let period = move || (param("from"), param("to"));
    let board = Resource::new(period, |(from, to)| get_dashboard(from, to));
    view! {
        <Title text="Dashboard · Vinculum"/>
        <AdminLayout>
            <div class="page dashboard">
                <h1>"Dashboard"</h1>
                <Transition fallback=|| view! { <p class="muted">"Loading the dashboard…"</p> }>
                    {move || Suspend::new(async move {
                        let (from, to) = period();
                        match board.await {
                            Ok(board) => view! {
                                <PeriodForm from=board.period.from.to_string() to=board.period.to.to_string()/>
                                <Board board/>
                            }.into_any(),
                            Err(error) => view! {
                                <PeriodForm from to/>
                                <ErrorNotice error/>
                            }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </AdminLayout>
    }
}

#[component]
fn PeriodForm(from: String, to: String) -> impl IntoView {
    view! {
        <form method="get" action="/admin" class="filters card" aria-label="Period">
            <label>"From" <input type="date" name="from" value=from/></label>
            <label>"To" <input type="date" name="to" value=to/></label>
            <button type="submit" class="primary">"Show"</button>
            <a href="/admin">"This month"</a>
        </form>
    }
}

/// "2 in the period before (2026-10-01 to 2026-10-31)".
fn before(count: i64, label: &str) -> String {
    format!("{} in the period before ({label})", thousands(count))
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{r:.1}%"))
}

/// One figure: a label, the number, a line of context, and where it leads.
#[component]
fn Figure(
    id: &'static str,
    label: String,
    value: String,
    note: String,
    href: String,
) -> impl IntoView {
    view! {
        <a class="figure card" href=href data-figure=id>
            <span class="figure-label">{label}</span>
            <span class="figure-value">{value}</span>
            <span class="figure-note">{note}</span>
        </a>
    }
}

#[component]
fn Board(board: Dashboard) -> impl IntoView {
    let Dashboard {
        period,
        previous,
        ref currency,
        ..
    } = board;
    let currency = currency.clone();
    let money = |m: domain::Money| m.display(&currency);
    let event_link = |event: &str| {
        with_query(
            "/admin/members",
            &[
                ("event", event),
                ("from", &period.from.to_string()),
                ("to", &period.to.to_string()),
            ],
        )
    };
    let previous_label = format!("{} to {}", previous.from, previous.to);
    let flows = [
        (
            "joined",
            "New members",
            board.flows.joined,
            board.previous_flows.joined,
        ),
        (
            "renewed",
            "Renewed",
            board.flows.renewed,
            board.previous_flows.renewed,
        ),
        (
            "upgraded",
            "Upgraded",
            board.flows.upgraded,
            board.previous_flows.upgraded,
        ),
        (
            "expired",
            "Expired",
            board.flows.expired,
            board.previous_flows.expired,
        ),
    ]
    .into_iter()
    .map(|(id, label, now, earlier)| {
        view! {
            <Figure id label=label.to_owned() value=thousands(now)
                note=before(earlier, &previous_label) href=event_link(id)/>
        }
    })
    .collect_view();
    let stages = board
        .stages
        .iter()
        .map(|s| {
            let href = with_query(
                "/admin/members",
                &[("stage", &s.id.to_string()), ("status", "active")],
            );
            view! {
                <li><a href=href data-figure=format!("stage-{}", s.name)>
                    <span>{s.name.clone()}</span> <strong>{thousands(s.members)}</strong>
                </a></li>
            }
        })
        .collect_view();
    let forecast = board
        .forecast
        .iter()
        .map(|(month, value)| view! { <li>{month.clone()} ": " {money(*value)}</li> })
        .collect_view();
    let aov = |s: domain::analytics::Sales| {
        s.average().map_or_else(
            || "no orders".to_owned(),
            |a| format!("{} orders, {} on average", thousands(s.orders), money(a)),
        )
    };
    let empty = (!board.has_data).then(|| {
        view! {
            <p class="empty" data-testid="dashboard-empty">
                "No club stages or orders yet. Set up the "
                <a href="/admin/club">"club program"</a>
                " or "<a href="/admin/import">"import past orders"</a>
                " and the dashboard fills in."
            </p>
        }
    });
    let charts = board.charts.clone();
    let calendar_from = charts.calendar_from.unwrap_or(period.to);
    view! {
        {empty}
        <p class="muted">{format!("{} to {}, in {}", period.from, period.to, board.time_zone)}</p>
        <section class="figures" aria-label="Key figures">
            <div class="figure card stages">
                <span class="figure-label">"Active members"</span>
                <a class="figure-value" href="/admin/members?status=active" data-figure="active">
                    {thousands(board.active_members())}
                </a>
                <ul class="plain">{stages}</ul>
            </div>
            {flows}
            <Figure id="expiring" label=format!("Expiring in {EXPIRING_DAYS} days")
                value=thousands(board.expiring_soon) note="Active memberships ending soon".to_owned()
                href=format!("/admin/members?status=active&expires_within={EXPIRING_DAYS}")/>
            <Figure id="at-risk" label="At risk of lapsing".to_owned() value=thousands(board.at_risk)
                note="Ending sooner than they usually order again".to_owned()
                href="/admin/members/at-risk".to_owned()/>
            <Figure id="upgrade-rate" label="Upgrade rate".to_owned() value=percent(board.upgrade_rate())
                note="Of members who qualified again, the share who moved up".to_owned()
                href=event_link("upgraded")/>
            <div class="figure card">
                <span class="figure-label">"Points liability"</span>
                <a class="figure-value" href="/admin/loyalty" data-figure="liability">{money(board.liability)}</a>
                <span class="figure-note">{format!("{} points unredeemed; on the trend:", thousands(board.points_outstanding))}</span>
                <ul class="plain forecast">{forecast}</ul>
            </div>
            <Figure id="redemption-rate" label="Redemption rate".to_owned() value=percent(board.redemption_rate())
                note=format!("{} points redeemed of {} issued", thousands(board.points_redeemed), thousands(board.points_issued))
                href="/admin/loyalty".to_owned()/>
            <Figure id="member-revenue" label="Revenue from members".to_owned() value=money(board.members.revenue)
                note=aov(board.members) href="/admin/members?status=active".to_owned()/>
            <Figure id="other-revenue" label="Revenue from non-members".to_owned() value=money(board.others.revenue)
                note=aov(board.others) href="/admin/members?status=not_member".to_owned()/>
            <Figure id="crm-failures" label="CRM sync failures".to_owned() value=thousands(board.crm_failures)
                note="Operations that gave up; retry them on the sync page".to_owned() href="/admin/sync".to_owned()/>
            <Figure id="undelivered" label="Undelivered messages".to_owned() value=thousands(board.undelivered)
                note="Failed or bounced in the period".to_owned() href="/admin/messages/outbox?status=failed".to_owned()/>
        </section>
        <section class="charts" aria-label="Charts">
            <Chart id="members-by-stage" title="Members by stage, month ends".to_owned() kind=Kind::Area
                labels=charts.months.clone() series=charts.stages/>
            <Chart id="flows" title="New, renewed, upgraded and expired, by month".to_owned() kind=Kind::Bars
                labels=charts.months.clone() series=charts.flows/>
            <ExpiryCalendar first=calendar_from counts=charts.calendar/>
            <Chart id="points" title="Points issued and redeemed, by month".to_owned() kind=Kind::Bars
                labels=charts.months.clone() series=charts.points/>
            <Chart id="revenue" title="Revenue from members and non-members, by month".to_owned() kind=Kind::Bars
                labels=charts.months series=charts.revenue currency=currency.clone()/>
        </section>
    }
}
