//! The `vinculum` binary: the HTTP server, worker and scheduler in one process, plus the
//! operator's commands (migrate, seed the demo winery, run a job as of an instant).

use anyhow::{Context as _, Result, bail};
use app::ssr::UiConfig;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use server::config::Settings;
use server::{jobs, startup, telemetry};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "vinculum", version, about = "Wine club and loyalty platform")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP, and run the job worker and the scheduler in the same process (the default).
    Serve {
        /// Do not run the job worker in this process.
        #[arg(long)]
        no_worker: bool,
        /// Do not run the scheduler in this process.
        #[arg(long)]
        no_scheduler: bool,
        /// Do not apply pending migrations at start-up.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply every pending database migration.
    Migrate,
    /// The demo winery.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Background jobs.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Import history from files.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Replay a CSV of past orders through the club engine (see README, "Order import").
    Orders {
        /// The winery's slug.
        #[arg(long)]
        client: String,
        /// Only report what the import would do; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The import runs as of this instant (RFC 3339); memberships past their expiry then are
        /// expired. Default now.
        #[arg(long)]
        now: Option<String>,
        /// The CSV file.
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Create the demo winery (stages, customers, orders, enrollments) unless it exists.
    Seed {
        /// How many customers to create.
        #[arg(long, default_value_t = 200)]
        customers: usize,
        /// Delete and recreate the demo winery if it exists.
        #[arg(long)]
        reset: bool,
        /// Random seed; the same seed gives the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Seed as of this instant (RFC 3339) instead of now.
        #[arg(long)]
        now: Option<String>,
        /// The winery's slug (a copy under another slug is independent of the demo).
        #[arg(long, default_value = backend::demo::DEMO_SLUG)]
        slug: String,
        /// The winery admin's e-mail address.
        #[arg(long, default_value = backend::demo::DEMO_EMAIL)]
        admin_email: String,
        /// The winery admin's password (at least 10 characters).
        #[arg(long, default_value = backend::demo::DEMO_PASSWORD)]
        admin_password: String,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Run one job now, in this process, as of `--now`.
    Run {
        /// The job's name (see `vinculum jobs list`).
        name: String,
        /// The instant the job runs as of (RFC 3339, e.g. 2026-04-02T02:00:00-07:00); default now.
        #[arg(long)]
        now: Option<String>,
        /// Only this winery (its slug); per-winery jobs otherwise run for every winery.
        #[arg(long)]
        client: Option<String>,
        /// For `refresh-stats`: rebuild every day since the first order, not the last 40.
        #[arg(long)]
        full: bool,
    },
    /// List the jobs and their schedules.
    List,
}

fn parse_now(raw: Option<&str>) -> Result<DateTime<Utc>> {
    match raw {
        None => Ok(Utc::now()),
        Some(raw) => DateTime::parse_from_rfc3339(raw.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                anyhow::anyhow!(
                    "--now must be an RFC 3339 instant such as 2026-04-02T02:00:00Z, not {raw:?}"
                )
            }),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command.unwrap_or(Command::Serve {
        no_worker: false,
        no_scheduler: false,
        no_migrate: false,
    }) {
        Command::Serve {
            no_worker,
            no_scheduler,
            no_migrate,
        } => serve(no_worker, no_scheduler, no_migrate).await,
        Command::Migrate => {
            let settings = Settings::from_env(false)?;
            backend::db::migrate(settings.database).await?;
            println!("All migrations are applied.");
            Ok(())
        }
        Command::Demo {
            command:
                DemoCommand::Seed {
                    customers,
                    reset,
                    seed,
                    now,
                    slug,
                    admin_email,
                    admin_password,
                },
        } => {
            let settings = Settings::from_env(false)?;
            let pool = backend::db::connect(settings.database, settings.db_max_connections).await?;
            let options = backend::demo::SeedOptions {
                slug,
                admin_email,
                admin_password,
                customers,
                now: parse_now(now.as_deref())?,
                reset,
                seed,
            };
            let started = std::time::Instant::now();
            let report = backend::demo::seed(&pool, &options).await?;
            // With the secret key set, the winery's CRM is the built-in sandbox.
            if let Some(key) = &settings.secret_key {
                let cipher =
                    backend::crypto::Cipher::from_hex(key).context("VINCULUM_SECRET_KEY")?;
                let id = find_client(&pool, &options.slug).await?;
                if backend::install::attach_sandbox(&pool, &cipher, id, options.now).await? {
                    println!("Connected {} to the sandbox CRM.", options.slug);
                }
            }
            if report.created {
                println!(
                    "Seeded the demo winery in {:.1} s: {} customers, {} orders; enrollments: {} active, {} expired, {} upgraded, {} revoked ({} flagged for review); {} renewals.",
                    started.elapsed().as_secs_f64(),
                    report.customers,
                    report.orders,
                    report.active,
                    report.expired,
                    report.upgraded,
                    report.revoked,
                    report.flagged,
                    report.renewals
                );
                println!(
                    "Sign in as {} with the password {}.",
                    options.admin_email, options.admin_password
                );
            } else {
                println!(
                    "The winery {:?} already exists; nothing changed (use --reset to recreate it).",
                    options.slug
                );
            }
            Ok(())
        }
        Command::Import {
            command:
                ImportCommand::Orders {
                    client,
                    dry_run,
                    now,
                    file,
                },
        } => {
            let now = parse_now(now.as_deref())?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let rows = match backend::import::parse(&bytes) {
                Ok(rows) => rows,
                Err(problems) => bail!(
                    "{} has {} problem(s); nothing was imported:\n{}",
                    file.display(),
                    problems.total,
                    problems.to_text()
                ),
            };
            let settings = Settings::from_env(false)?;
            let pool = backend::db::connect(settings.database, settings.db_max_connections).await?;
            let id = find_client(&pool, &client).await?;
            let club = backend::orders::ClubClient::load(&pool, id).await?;
            let actor = backend::db::audit::Actor::Cli {
                command: "vinculum import orders".to_owned(),
            };
            let summary = backend::import::run(&pool, &club, &rows, &actor, now, !dry_run).await?;
            let verb = if dry_run {
                "Dry run, nothing written"
            } else {
                "Imported"
            };
            println!("{verb}: {}", summary.to_text());
            Ok(())
        }
        Command::Jobs {
            command: JobsCommand::List,
        } => {
            for job in backend::jobs::JOBS {
                println!(
                    "{:<24} {:?}, {:?}: {}",
                    job.name, job.scope, job.schedule, job.description
                );
            }
            Ok(())
        }
        Command::Jobs {
            command:
                JobsCommand::Run {
                    name,
                    now,
                    client,
                    full,
                },
        } => {
            let Some(job) = backend::jobs::find(&name) else {
                let names: Vec<&str> = backend::jobs::JOBS.iter().map(|j| j.name).collect();
                bail!(
                    "there is no job named {name:?}; the jobs are: {}",
                    names.join(", ")
                );
            };
            let now = parse_now(now.as_deref())?;
            let settings = Settings::from_env(false)?;
            // Messages rendered by a job carry signed member links: sign them with the server's
            // key, so they work when the server answers them.
            if let Some(key) = &settings.secret_key {
                let cipher =
                    backend::crypto::Cipher::from_hex(key).context("VINCULUM_SECRET_KEY")?;
                backend::comms::configure(backend::comms::Runtime::new(
                    &settings.public_url,
                    cipher,
                    settings.messaging_endpoints(),
                ));
            }
            let pool = backend::db::connect(settings.database, settings.db_max_connections).await?;
            let client = match client {
                None => None,
                Some(slug) => Some(find_client(&pool, &slug).await?),
            };
            let payload = serde_json::json!({ "full": full });
            let report = backend::jobs::run_with(&pool, job, client, &payload, now).await?;
            println!(
                "{} as of {}: {}",
                job.name,
                now.to_rfc3339(),
                report.summary
            );
            Ok(())
        }
    }
}

async fn find_client(pool: &sqlx::PgPool, slug: &str) -> Result<domain::ids::ClientId> {
    let mut tx = backend::db::begin_platform(pool).await?;
    let found = backend::db::clients::find_by_slug(&mut tx, slug).await?;
    tx.commit().await?;
    Ok(found
        .with_context(|| format!("there is no winery with the slug {slug:?}"))?
        .id)
}

async fn serve(no_worker: bool, no_scheduler: bool, no_migrate: bool) -> Result<()> {
    let settings = Settings::from_env(true)?;
    if !no_migrate {
        backend::db::migrate(settings.database.clone()).await?;
    }
    let pool = backend::db::connect_lazy(settings.database.clone(), settings.db_max_connections);
    let mut leptos_options = leptos::config::get_configuration(None)
        .context("reading the Leptos settings (LEPTOS_* variables)")?
        .leptos_options;
    leptos_options.site_addr = settings.listen_addr;
    if std::env::var_os("LEPTOS_SITE_ROOT").is_none() {
        // Where `cargo leptos build` puts the site; Leptos itself would default to ".".
        leptos_options.site_root = "target/site".into();
    }
    let ui = UiConfig {
        demo_mode: settings.demo_mode,
        secure_cookies: settings.is_https(),
        trust_forwarded_for: settings.trust_proxy,
    };
    let key = settings
        .secret_key
        .as_ref()
        .context("VINCULUM_SECRET_KEY is not set")?;
    let cipher = backend::crypto::Cipher::from_hex(key).context("VINCULUM_SECRET_KEY")?;
    let state = startup::app_state(
        pool.clone(),
        leptos_options,
        ui,
        cipher,
        settings.crm_config(),
        settings.messaging_endpoints(),
    )?;
    let registry = state.crm.clone();
    let router = startup::build_router(state);

    let shutdown = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    if !no_worker {
        for id in 0..settings.workers.max(1) {
            tasks.spawn(jobs::worker(pool.clone(), id, shutdown.clone()));
        }
        tasks.spawn(jobs::crm_worker(
            pool.clone(),
            registry.clone(),
            shutdown.clone(),
        ));
        tasks.spawn(jobs::outbox_worker(pool.clone(), shutdown.clone()));
        tasks.spawn(jobs::sandbox_setup(
            pool.clone(),
            registry,
            shutdown.clone(),
        ));
    }
    if !no_scheduler {
        tasks.spawn(jobs::scheduler(pool.clone(), shutdown.clone()));
    }

    let listener = tokio::net::TcpListener::bind(settings.listen_addr)
        .await
        .with_context(|| format!("binding {}", settings.listen_addr))?;
    tracing::info!(addr = %settings.listen_addr, worker = !no_worker, scheduler = !no_scheduler, "listening on http://{}", settings.listen_addr);
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        signal.cancel();
    });
    let stop = shutdown.clone();
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { stop.cancelled().await })
    .await
    .context("serving HTTP")?;
    shutdown.cancel();
    while tasks.join_next().await.is_some() {}
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
