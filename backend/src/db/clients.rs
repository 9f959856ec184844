//! Queries on `clients`, the tenant root (a platform table: readable before a tenant is known).

use crate::Result;
use domain::ids::ClientId;
use sqlx::PgConnection;
use uuid::Uuid;

/// A winery account, as the services need it.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: ClientId,
    pub slug: String,
    pub org_name: String,
    pub time_zone: String,
    pub currency: String,
    pub status: String,
    pub qualifying_amount_basis: String,
    /// `commerce7` or `shopify`.
    pub crm_type: String,
    /// The Commerce7 tenant id or the Shopify shop domain.
    pub tenant_shop: String,
}

struct ClientRow {
    id: Uuid,
    slug: String,
    org_name: String,
    time_zone: String,
    currency: String,
    status: String,
    qualifying_amount_basis: String,
    crm_type: String,
    tenant_shop: String,
}

impl From<ClientRow> for Client {
    fn from(row: ClientRow) -> Self {
        Self {
            id: ClientId::new(row.id),
            slug: row.slug,
            org_name: row.org_name,
            time_zone: row.time_zone,
            currency: row.currency,
            status: row.status,
            qualifying_amount_basis: row.qualifying_amount_basis,
            crm_type: row.crm_type,
            tenant_shop: row.tenant_shop,
        }
    }
}

/// Finds a client by its slug.
pub async fn find_by_slug(conn: &mut PgConnection, slug: &str) -> Result<Option<Client>> {
    let row = sqlx::query_as!(
        ClientRow,
        r#"select id, slug, org_name, time_zone, currency as "currency!", status, qualifying_amount_basis, crm_type, tenant_shop
           from clients where slug = $1"#,
        slug
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Client::from))
}

/// Finds a client by id.
pub async fn find(conn: &mut PgConnection, id: ClientId) -> Result<Option<Client>> {
    let row = sqlx::query_as!(
        ClientRow,
        r#"select id, slug, org_name, time_zone, currency as "currency!", status, qualifying_amount_basis, crm_type, tenant_shop
           from clients where id = $1"#,
        id.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Client::from))
}

/// Every installed client, for the scheduler's per-tenant work.
pub async fn list_installed(conn: &mut PgConnection) -> Result<Vec<Client>> {
    let rows = sqlx::query_as!(
        ClientRow,
        r#"select id, slug, org_name, time_zone, currency as "currency!", status, qualifying_amount_basis, crm_type, tenant_shop
           from clients where status = 'installed' order by slug"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Client::from).collect())
}

/// The fields of a new client.
pub struct NewClient<'a> {
    pub slug: &'a str,
    pub tenant_shop: &'a str,
    pub crm_type: &'a str,
    pub org_name: &'a str,
    pub org_contact: Option<&'a str>,
    pub time_zone: &'a str,
    pub currency: &'a str,
}

/// Inserts a client and returns its id.
pub async fn insert(conn: &mut PgConnection, new: &NewClient<'_>) -> Result<ClientId> {
    let id = sqlx::query_scalar!(
        r#"insert into clients (slug, tenant_shop, crm_type, org_name, org_contact, time_zone, currency)
           values ($1, $2, $3, $4, $5, $6, $7) returning id"#,
        new.slug,
        new.tenant_shop,
        new.crm_type,
        new.org_name,
        new.org_contact,
        new.time_zone,
        new.currency
    )
    .fetch_one(conn)
    .await?;
    Ok(ClientId::new(id))
}

/// Deletes a client; every tenant row follows by cascade.
pub async fn delete(conn: &mut PgConnection, id: ClientId) -> Result<()> {
    sqlx::query!("delete from clients where id = $1", id.as_uuid())
        .execute(conn)
        .await?;
    Ok(())
}

/// Finds a client by its CRM and tenant (Commerce7 tenant id, Shopify shop domain), installed or not.
pub async fn find_by_tenant(
    conn: &mut PgConnection,
    crm_type: &str,
    tenant_shop: &str,
) -> Result<Option<Client>> {
    let row = sqlx::query_as!(
        ClientRow,
        r#"select id, slug, org_name, time_zone, currency as "currency!", status, qualifying_amount_basis, crm_type, tenant_shop
           from clients where crm_type = $1 and tenant_shop = $2"#,
        crm_type,
        tenant_shop
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Client::from))
}

/// Marks a client uninstalled (D24: its data is deleted 48 hours later) or installed again.
/// Returns whether the status changed.
pub async fn set_installed(
    conn: &mut PgConnection,
    id: ClientId,
    installed: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    let changed = sqlx::query!(
        r#"update clients
           set status = case when $2 then 'installed' else 'uninstalled' end,
               uninstalled_at = case when $2 then null else $3::timestamptz end,
               installed_at = case when $2 then $3 else installed_at end
           where id = $1 and status <> case when $2 then 'installed' else 'uninstalled' end"#,
        id.as_uuid(),
        installed,
        now
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed == 1)
}
