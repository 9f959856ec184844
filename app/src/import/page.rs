//! `/admin/import` (upload) and `/admin/import/:id` (dry run, confirmation, progress). While the
//! server works, the page refreshes itself every two seconds (a `<meta refresh>`, so the progress
//! bar moves with or without JavaScript).

use super::api::{CommitImport, UploadOrders, import_status};
use crate::components::ErrorNotice;
use crate::layout::AdminLayout;
use domain::imports::{ImportRunView, ImportStatus, ImportSummary};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

/// `/admin/import`.
#[component]
pub fn ImportPage() -> impl IntoView {
    // The upload is a plain multipart form (browsers post files on their own, with or without
    // JavaScript); a refused file comes back as the error in the page's query (`__path`, `__err`).
    let query = use_query_map();
    let upload_error = move || {
        let q = query.read();
        (q.get("__path").as_deref() == Some(<UploadOrders as server_fn::ServerFn>::PATH))
            .then(|| q.get("__err"))
            .flatten()
            .map(|e| server_fn::error::ServerFnUrlError::<crate::error::AppError>::decode_err(&e))
    };
    view! {
        <Title text="Import orders · Vinculum"/>
        <AdminLayout>
            <div class="page narrow">
                <h1>"Import orders"</h1>
                <p>
                    "Bring in order history from another system. The file is checked first; then you see what the "
                    "import would do (a dry run) before anything is written."
                </p>
                <p class="muted small">
                    "CSV with the columns order_id, customer_email, first_name, last_name, placed_at, subtotal, "
                    "discount, tax, shipping, total, status. Amounts in dollars (75.50), placed_at in RFC 3339 "
                    "(2026-01-31T18:30:00-08:00), status paid, pending, refunded, partially_refunded or cancelled. "
                    "Up to 20 MB."
                </p>
                <form method="post" action="/api/import/upload" enctype="multipart/form-data" class="stack card"
                    aria-label="Upload orders">
                    <label>"CSV file" <input type="file" name="file" accept=".csv,text/csv" required/></label>
                    <button type="submit" class="primary">"Check the file"</button>
                </form>
                {move || upload_error().map(|error| view! {
                    <div class="notice error problems" role="alert">
                        {error.to_string().lines().map(|l| view! { <p>{l.to_owned()}</p> }).collect_view()}
                    </div>
                })}
            </div>
        </AdminLayout>
    }
}

/// `/admin/import/:id`.
#[component]
pub fn ImportRunPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let commit = ServerAction::<CommitImport>::new();
    let run = Resource::new(
        move || (id(), commit.version().get()),
        |(id, _)| import_status(id),
    );
    view! {
        <Title text="Import · Vinculum"/>
        <AdminLayout>
            <div class="page narrow">
                <h1>"Import orders"</h1>
                {move || commit.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match run.await {
                            Ok(run) => view! { <Run run commit/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
                <p><a href="/admin/import">"Import another file"</a></p>
            </div>
        </AdminLayout>
    }
}

#[component]
fn Run(run: ImportRunView, commit: ServerAction<CommitImport>) -> impl IntoView {
    let working = run.status.is_working();
    let body = match run.status {
        ImportStatus::Previewing => view! {
            <p role="status">{format!("Checking what {} rows would do…", run.row_count)}</p>
        }
        .into_any(),
        ImportStatus::Previewed => {
            let summary = run.preview.clone().unwrap_or_default();
            view! {
                <h2>"Dry run"</h2>
                <p>"Nothing has been written yet. Importing this file would:"</p>
                <Summary summary/>
                <ActionForm action=commit attr:aria-label="Confirm the import">
                    <input type="hidden" name="id" value=run.id.to_string()/>
                    <button type="submit" class="primary">{format!("Import {} orders", run.row_count)}</button>
                </ActionForm>
            }
            .into_any()
        }
        ImportStatus::Importing => view! {
            <p role="status">{format!("Importing: {} of {} orders", run.processed_rows, run.row_count)}</p>
        }
        .into_any(),
        ImportStatus::Completed => {
            let summary = run.result.clone().unwrap_or_default();
            view! {
                <p class="notice success" role="status">"The import is complete."</p>
                <Summary summary/>
                <p><a href="/admin/members">"See the members"</a></p>
            }
            .into_any()
        }
        ImportStatus::Failed => view! {
            <p class="notice error" role="alert">{run.error.clone().unwrap_or_else(|| "The import failed.".to_owned())}</p>
        }
        .into_any(),
    };
    let percent = if run.status == ImportStatus::Previewed {
        0
    } else {
        run.percent()
    };
    view! {
        {working.then(|| view! { <Meta http_equiv="refresh" content="2"/> })}
        <section class="card" aria-labelledby="run-heading">
            <h2 id="run-heading">{run.file_name.clone()}</h2>
            <progress max="100" value=percent.to_string() aria-label="Import progress">{format!("{percent}%")}</progress>
            {body}
        </section>
    }
}

#[component]
fn Summary(summary: ImportSummary) -> impl IntoView {
    view! {
        <dl class="facts summary" data-testid="import-summary">
            <div><dt>"Orders"</dt><dd>{summary.orders}</dd></div>
            <div><dt>"New enrollments"</dt><dd>{summary.enrollments}</dd></div>
            <div><dt>"Renewals"</dt><dd>{summary.renewals}</dd></div>
            <div><dt>"Upgrades"</dt><dd>{summary.upgrades}</dd></div>
            <div><dt>"Expiries"</dt><dd>{summary.expiries}</dd></div>
            <div><dt>"Already known"</dt><dd>{summary.duplicates}</dd></div>
            <div><dt>"Not counted"</dt><dd>{summary.not_counted}</dd></div>
        </dl>
    }
}
