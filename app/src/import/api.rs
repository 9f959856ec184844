//! Server functions of the order import. The upload is a multipart form posted by the browser
//! itself (no JavaScript needed); the rest are thin adapters into `backend::import`.

use crate::error::AppError;
use domain::imports::ImportRunView;
use leptos::prelude::*;
use server_fn::codec::{MultipartData, MultipartFormData};

#[cfg(feature = "ssr")]
fn parse_run(raw: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(raw.trim()).map_err(|_| AppError::NotFound {
        what: "import".to_owned(),
    })
}

/// Validates an uploaded CSV; if every row is valid, starts its dry run and opens its page.
#[server(prefix = "/api", endpoint = "import/upload", input = MultipartFormData)]
pub async fn upload_orders(data: MultipartData) -> Result<(), AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let mut multipart = data
        .into_inner()
        .ok_or_else(|| AppError::invalid("file", "Choose a CSV file to upload."))?;
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("orders.csv").to_owned();
            let bytes = field
                .bytes()
                .await
                .map_err(|_| AppError::invalid("file", "The upload was interrupted; try again."))?;
            file = Some((name, bytes.to_vec()));
        }
    }
    let (name, bytes) = file
        .filter(|(_, b)| !b.is_empty())
        .ok_or_else(|| AppError::invalid("file", "Choose a CSV file to upload."))?;
    let id =
        backend::import::start(&state().pool, &admin, &name, &bytes, chrono::Utc::now()).await?;
    leptos_axum::redirect(&format!("/admin/import/{id}"));
    Ok(())
}

/// An import's state: its dry run, progress and result.
#[server(prefix = "/api", endpoint = "import/status")]
pub async fn import_status(id: String) -> Result<ImportRunView, AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    Ok(backend::import::status(&state().pool, &admin, parse_run(&id)?).await?)
}

/// Confirms a previewed import.
#[server(prefix = "/api", endpoint = "import/commit")]
pub async fn commit_import(id: String) -> Result<(), AppError> {
    use crate::ssr::{require_admin, state};
    let admin = require_admin()?;
    let run = parse_run(&id)?;
    backend::import::commit(&state().pool, &admin, run, chrono::Utc::now()).await?;
    leptos_axum::redirect(&format!("/admin/import/{run}"));
    Ok(())
}
