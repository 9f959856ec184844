//! The outbox (D17, D19): a message is decided, rendered and written to `communication_log` in the
//! transaction of the event that caused it. Its idempotency key makes a replay a no-op, a queued
//! row wakes the worker ([`super::worker`]), and a skip worth knowing about (a member who
//! unsubscribed, a winery without a provider) is written as `skipped` with its reason.

use super::snapshot::{self, Member, Selection, Winery};
use crate::Result;
use chrono::{DateTime, Utc};
use domain::comms::prefs::{Decision, Reachable, decide};
use domain::comms::template::{EmailSource, RenderedEmail, render_email, render_sms};
use domain::comms::vars::MessageVars;
use domain::comms::{Channel, MessageType, defaults};
use domain::ids::{ClientId, CustomerId};
use sqlx::PgConnection;
use std::collections::HashMap;

/// A winery's templates: its saved ones, and the defaults for the rest.
#[derive(Clone, Debug, Default)]
pub struct Templates {
    email: HashMap<MessageType, EmailSource>,
    sms: HashMap<MessageType, String>,
}

impl Templates {
    /// Loads the winery's active templates.
    ///
    /// # Errors
    /// Database failures.
    pub async fn load(conn: &mut PgConnection, client: ClientId) -> Result<Self> {
        let rows = sqlx::query!(
            r#"select template_type, channel, subject, html_body, text_body
               from communication_templates where client_id = $1 and is_active"#,
            client.as_uuid()
        )
        .fetch_all(conn)
        .await?;
        let mut templates = Self::default();
        for r in rows {
            let Some(kind) = MessageType::parse(&r.template_type) else {
                continue;
            };
            match Channel::parse(&r.channel) {
                Some(Channel::Email) => {
                    templates.email.insert(
                        kind,
                        EmailSource {
                            subject: r.subject.unwrap_or_default(),
                            html: r.html_body.unwrap_or_default(),
                            text: r.text_body.unwrap_or_default(),
                        },
                    );
                }
                Some(Channel::Sms) => {
                    templates.sms.insert(kind, r.text_body.unwrap_or_default());
                }
                None => {}
            }
        }
        Ok(templates)
    }

    /// The e-mail template for `kind`.
    pub fn email(&self, kind: MessageType) -> EmailSource {
        self.email
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| defaults::email(kind))
    }

    /// The SMS template for `kind`.
    pub fn sms(&self, kind: MessageType) -> String {
        self.sms
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| defaults::sms(kind))
    }
}

/// What queuing did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Queued {
    /// Messages waiting for the worker.
    pub queued: usize,
    /// Skips written to the log.
    pub skipped: usize,
    /// Messages already queued under the same key (a replay).
    pub duplicates: usize,
}

impl Queued {
    fn add(&mut self, other: Self) {
        self.queued += other.queued;
        self.skipped += other.skipped;
        self.duplicates += other.duplicates;
    }
}

/// One row for `communication_log`, decided and rendered.
#[derive(Clone, Debug)]
struct NewRow {
    customer: uuid::Uuid,
    name: String,
    kind: &'static str,
    channel: &'static str,
    provider: String,
    to: String,
    status: &'static str,
    key: String,
    subject: Option<String>,
    html: Option<String>,
    text: String,
    error: Option<String>,
    /// The variables, for a provider that renders them itself (Klaviyo).
    variables: Option<serde_json::Value>,
}

/// Decides and renders `kind` for `member` on both channels, keyed by `key`: a row for each
/// channel that sends, or records why it does not.
fn prepare(
    winery: &Winery,
    templates: &Templates,
    member: &Member,
    kind: MessageType,
    key: &str,
) -> Vec<NewRow> {
    let mut rows = Vec::new();
    for &channel in kind.channels() {
        let reachable = Reachable {
            email: !member.email.is_empty(),
            phone: member.phone.is_some(),
        };
        let decision = decide(
            kind,
            channel,
            &winery.switches,
            member.preferences.as_ref(),
            reachable,
        );
        let skip = match decision {
            Decision::Silent(_) => continue,
            Decision::Record(reason) => Some(reason.sentence()),
            Decision::Send => None,
        };
        let to = match channel {
            Channel::Email => member.email.clone(),
            Channel::Sms => member
                .phone
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        };
        let provider = match channel {
            Channel::Email => winery.email_provider.as_deref(),
            Channel::Sms => winery.sms_provider.as_deref(),
        }
        .unwrap_or("none")
        .to_owned();
        let rendered = render(templates, kind, channel, &member.vars);
        let (status, error) = match (&rendered, skip) {
            (_, Some(reason)) => ("skipped", Some(reason.to_owned())),
            (Err(e), None) => (
                "failed",
                Some(format!("the template could not be rendered: {e}")),
            ),
            (Ok(_), None) => ("queued", None),
        };
        let message = rendered.unwrap_or_default();
        let email = channel == Channel::Email;
        let variables = (provider == "klaviyo")
            .then(|| serde_json::to_value(&member.vars).ok())
            .flatten();
        rows.push(NewRow {
            customer: member.customer.as_uuid(),
            name: member.name.clone(),
            kind: kind.as_str(),
            channel: channel.as_str(),
            provider,
            to,
            status,
            key: key.to_owned(),
            subject: email.then_some(message.subject),
            html: email.then_some(message.html),
            text: message.text,
            error,
            variables,
        });
    }
    rows
}

/// Rows written per statement.
const CHUNK: usize = 1_000;

/// Writes the rows, one statement per [`CHUNK`]; a row whose key is already taken is left out.
/// Wakes the worker when anything was queued.
async fn write(
    conn: &mut PgConnection,
    client: ClientId,
    rows: &[NewRow],
    now: DateTime<Utc>,
) -> Result<Queued> {
    let mut done = Queued::default();
    for chunk in rows.chunks(CHUNK) {
        let column = |f: fn(&NewRow) -> Option<String>| chunk.iter().map(f).collect::<Vec<_>>();
        let inserted = sqlx::query_scalar!(
            r#"insert into communication_log
                   (client_id, customer_id, customer_name, template_type, channel, provider, to_address,
                    status, idempotency_key, subject, rendered_html, rendered_text, error_message,
                    next_attempt_at, variables)
               select $1, r.customer_id, r.customer_name, r.template_type, r.channel, r.provider, r.to_address,
                      r.status, r.idempotency_key, r.subject, r.rendered_html, r.rendered_text, r.error_message,
                      case when r.status = 'queued' then $14::timestamptz end, r.variables
               from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                           $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $15::jsonb[])
                    as r(customer_id, customer_name, template_type, channel, provider, to_address, status,
                         idempotency_key, subject, rendered_html, rendered_text, error_message, variables)
               on conflict (client_id, idempotency_key, channel) do nothing
               returning status"#,
            client.as_uuid(),
            &chunk.iter().map(|r| r.customer).collect::<Vec<_>>(),
            &column(|r| Some(r.name.clone())) as &[Option<String>],
            &column(|r| Some(r.kind.to_owned())) as &[Option<String>],
            &column(|r| Some(r.channel.to_owned())) as &[Option<String>],
            &column(|r| Some(r.provider.clone())) as &[Option<String>],
            &column(|r| Some(r.to.clone())) as &[Option<String>],
            &column(|r| Some(r.status.to_owned())) as &[Option<String>],
            &column(|r| Some(r.key.clone())) as &[Option<String>],
            &column(|r| r.subject.clone()) as &[Option<String>],
            &column(|r| r.html.clone()) as &[Option<String>],
            &column(|r| Some(r.text.clone())) as &[Option<String>],
            &column(|r| r.error.clone()) as &[Option<String>],
            now,
            &chunk.iter().map(|r| r.variables.clone()).collect::<Vec<_>>() as &[Option<serde_json::Value>]
        )
        .fetch_all(&mut *conn)
        .await?;
        done.duplicates += chunk.len() - inserted.len();
        for status in inserted {
            if status == "queued" {
                done.queued += 1;
            } else {
                done.skipped += 1;
            }
        }
    }
    if done.queued > 0 {
        wake(conn, client, now).await?;
    }
    Ok(done)
}

/// Decides, renders and writes `kind` for `member` on both channels, keyed by `key`.
///
/// # Errors
/// Database failures.
pub async fn queue_for(
    conn: &mut PgConnection,
    winery: &Winery,
    templates: &Templates,
    member: &Member,
    kind: MessageType,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Queued> {
    let rows = prepare(winery, templates, member, kind, key);
    write(conn, winery.client, &rows, now).await
}

fn render(
    templates: &Templates,
    kind: MessageType,
    channel: Channel,
    vars: &MessageVars,
) -> std::result::Result<RenderedEmail, domain::comms::template::TemplateError> {
    match channel {
        Channel::Email => render_email(&templates.email(kind), vars),
        Channel::Sms => Ok(RenderedEmail {
            text: render_sms(&templates.sms(kind), vars)?,
            ..RenderedEmail::default()
        }),
    }
}

/// Marks the winery's outbox as due.
///
/// # Errors
/// Database failures.
pub async fn wake(conn: &mut PgConnection, client: ClientId, due_at: DateTime<Utc>) -> Result<()> {
    sqlx::query!(
        r#"insert into outbox_wakeups (client_id, due_at) values ($1, $2)
           on conflict (client_id) do update
           set due_at = least(outbox_wakeups.due_at, excluded.due_at), version = outbox_wakeups.version + 1"#,
        client.as_uuid(),
        due_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Extra facts an event message shows.
#[derive(Clone, Debug, Default)]
pub struct Detail {
    pub previous_stage: Option<String>,
    pub points_earned: Option<i64>,
    pub reward: Option<(String, i64)>,
    /// For an ended membership: its stage, discount (hundredths) and end.
    pub ended: Option<(String, u32, DateTime<Utc>)>,
    /// For the portal's sign-in e-mail.
    pub sign_in_url: Option<String>,
}

/// Queues an event message (D16) for one customer. `event` identifies the event (an enrollment,
/// an order, a redemption), so a redelivered event never sends twice (D17).
///
/// # Errors
/// Database failures.
pub async fn queue_event(
    conn: &mut PgConnection,
    client: ClientId,
    customer: CustomerId,
    kind: MessageType,
    event: &str,
    detail: &Detail,
    now: DateTime<Utc>,
) -> Result<Queued> {
    let Some(winery) = snapshot::winery(conn, client).await? else {
        return Ok(Queued::default());
    };
    if !winery.switches.sends(kind) {
        return Ok(Queued::default());
    }
    let templates = Templates::load(conn, client).await?;
    let members =
        snapshot::members(conn, &winery, &Selection::Customers(vec![customer]), now).await?;
    let mut done = Queued::default();
    for mut member in members {
        apply(&mut member.vars, &winery, detail, now);
        let key = domain::comms::event_key(kind, event);
        done.add(queue_for(conn, &winery, &templates, &member, kind, &key, now).await?);
    }
    Ok(done)
}

fn apply(vars: &mut MessageVars, winery: &Winery, detail: &Detail, now: DateTime<Utc>) {
    if let Some(stage) = &detail.previous_stage {
        vars.previous_stage.clone_from(stage);
    }
    if let Some(points) = detail.points_earned {
        vars.points_earned = points;
    }
    if let Some((name, points)) = &detail.reward {
        vars.reward_name.clone_from(name);
        vars.reward_points = *points;
    }
    if let Some(url) = &detail.sign_in_url {
        vars.sign_in_url.clone_from(url);
    }
    if let Some((stage, discount, ended_at)) = &detail.ended {
        vars.current_stage.clone_from(stage);
        vars.discount_percentage = domain::Percent::from_hundredths(*discount).to_string();
        vars.expires_at = snapshot::date_label(*ended_at, winery.zone);
        vars.expires_at_iso = ended_at
            .with_timezone(&winery.zone)
            .date_naive()
            .to_string();
        vars.days_remaining = snapshot::days_until(now, *ended_at);
        vars.is_expiring_soon = false;
    }
}

/// Queues the messages an order caused: welcome, renewed or upgraded, and points earned.
///
/// # Errors
/// Database failures.
pub async fn after_order(
    conn: &mut PgConnection,
    client: ClientId,
    outcome: &crate::orders::OrderOutcome,
    now: DateTime<Utc>,
) -> Result<()> {
    use crate::orders::{ClubChange, OrderOutcome};
    let OrderOutcome::Counted {
        order,
        customer,
        change,
        points,
        ..
    } = outcome
    else {
        return Ok(());
    };
    let order = order.as_uuid().to_string();
    match change {
        ClubChange::None => {}
        ClubChange::Enrolled { enrollment, .. } => {
            let event = enrollment.as_uuid().to_string();
            queue_event(
                conn,
                client,
                *customer,
                MessageType::Welcome,
                &event,
                &Detail::default(),
                now,
            )
            .await?;
        }
        ClubChange::Renewed { .. } => {
            queue_event(
                conn,
                client,
                *customer,
                MessageType::Renewed,
                &order,
                &Detail::default(),
                now,
            )
            .await?;
        }
        ClubChange::Upgraded {
            enrollment, from, ..
        } => {
            let previous = sqlx::query_scalar!(
                "select name from club_stages where client_id = $1 and id = $2",
                client.as_uuid(),
                from.as_uuid()
            )
            .fetch_optional(&mut *conn)
            .await?;
            let detail = Detail {
                previous_stage: previous,
                ..Detail::default()
            };
            let event = enrollment.as_uuid().to_string();
            queue_event(
                conn,
                client,
                *customer,
                MessageType::Upgraded,
                &event,
                &detail,
                now,
            )
            .await?;
        }
    }
    if *points > 0 {
        let detail = Detail {
            points_earned: Some(*points),
            ..Detail::default()
        };
        queue_event(
            conn,
            client,
            *customer,
            MessageType::PointsEarned,
            &order,
            &detail,
            now,
        )
        .await?;
    }
    Ok(())
}

/// Queues the scheduled `kind` for every member of `selection`, each under the key `key_of`
/// gives it. Returns what was queued.
///
/// # Errors
/// Database failures.
pub async fn queue_batch(
    conn: &mut PgConnection,
    winery: &Winery,
    selection: &Selection,
    kind: MessageType,
    key_of: impl Fn(&Member) -> Option<String>,
    now: DateTime<Utc>,
) -> Result<Queued> {
    let mut done = Queued::default();
    if !winery.switches.sends(kind) {
        return Ok(done);
    }
    let templates = Templates::load(conn, winery.client).await?;
    let mut after = None;
    loop {
        let members = snapshot::members_page(conn, winery, selection, after, PAGE, now).await?;
        let rows: Vec<NewRow> = members
            .iter()
            .filter_map(|member| Some(prepare(winery, &templates, member, kind, &key_of(member)?)))
            .flatten()
            .collect();
        done.add(write(conn, winery.client, &rows, now).await?);
        match members.last() {
            Some(last) if members.len() == CHUNK => after = Some(last.customer.as_uuid()),
            _ => break,
        }
    }
    Ok(done)
}

/// Members read, rendered and written at a time by a batch.
const PAGE: i64 = CHUNK as i64;

/// Queues "membership expired" (D16) for the memberships that expiration processing ended in
/// this transaction, among `customers`: one statement to find them, one to write the messages.
///
/// # Errors
/// Database failures.
pub async fn after_expiry(
    conn: &mut PgConnection,
    client: ClientId,
    customers: &[uuid::Uuid],
    now: DateTime<Utc>,
) -> Result<Queued> {
    let kind = MessageType::MembershipExpired;
    if customers.is_empty() {
        return Ok(Queued::default());
    }
    let Some(winery) = snapshot::winery(conn, client).await? else {
        return Ok(Queued::default());
    };
    if !winery.switches.sends(kind) {
        return Ok(Queued::default());
    }
    // `updated_at` is the transaction's start for every row this transaction changed.
    let ended = sqlx::query!(
        r#"select e.id, e.customer_id, s.name, (s.discount_percentage * 100)::int as "discount!", e.expires_at
           from club_enrollments e
           join club_stages s on s.client_id = e.client_id and s.id = e.club_stage_id
           where e.client_id = $1 and e.customer_id = any($2) and e.status = 'expired'
             and e.updated_at = now()"#,
        client.as_uuid(),
        customers
    )
    .fetch_all(&mut *conn)
    .await?;
    let templates = Templates::load(conn, client).await?;
    let ids = ended
        .iter()
        .map(|e| CustomerId::new(e.customer_id))
        .collect();
    let members: HashMap<uuid::Uuid, Member> =
        snapshot::members(conn, &winery, &Selection::Customers(ids), now)
            .await?
            .into_iter()
            .map(|m| (m.customer.as_uuid(), m))
            .collect();
    let mut rows = Vec::new();
    for e in ended {
        let Some(member) = members.get(&e.customer_id) else {
            continue;
        };
        let mut member = member.clone();
        let detail = Detail {
            ended: Some((e.name, u32::try_from(e.discount).unwrap_or(0), e.expires_at)),
            ..Detail::default()
        };
        apply(&mut member.vars, &winery, &detail, now);
        let key = domain::comms::event_key(kind, &e.id.to_string());
        rows.extend(prepare(&winery, &templates, &member, kind, &key));
    }
    write(conn, client, &rows, now).await
}
