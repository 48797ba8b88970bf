//! Builds the application from `Settings`: database, migrations, first-start seeding, routes,
//! middleware and a bound listener. The binary and the integration tests share this, so the
//! tests run the real server (on port 0).

use crate::auth::throttle::LoginThrottle;
use crate::clock::Clock;
use crate::config::{Registration, Settings};
use crate::course;
use crate::db::Db;
use crate::study::grader::Grader;
use crate::web::routes;
use crate::web::session_cache::SessionCache;
use actix_web::HttpMessage;
use actix_web::dev::{Server, ServerHandle, Service};
use actix_web::http::{KeepAlive, Method};
use actix_web::middleware::ErrorHandlers;
use actix_web::{App, HttpServer, web};
use std::net::TcpListener;
use std::time::Instant;

mod body_timeout;
mod conn_watch;
mod held_body;
pub mod open_files;

/// What every handler can reach.
#[derive(Debug)]
pub struct AppState {
    /// The database: a read-only pool and the one writer.
    pub db: Db,
    /// Now.
    pub clock: Clock,
    /// Whether /register is open.
    pub registration: Registration,
    /// SM-2's interval cap.
    pub max_interval_days: u32,
    /// Whether cookies are marked Secure.
    pub secure_cookies: bool,
    /// Whether client addresses come from a reverse proxy's X-Forwarded-For.
    pub behind_proxy: bool,
    /// Failed logins per address.
    pub throttle: LoginThrottle,
    /// Writes per user (grades, answers, reports).
    pub writes: crate::auth::budget::WriteBudget,
    /// Hourly budgets: classes, exams, decks and imports per user, wrong join codes.
    pub quotas: crate::auth::quota::Quotas,
    /// Temporary passwords waiting to be shown to the admin who reset them.
    pub handover: crate::auth::handover::Handover,
    /// Places for imports running at once.
    pub imports: tokio::sync::Semaphore,
    /// Places for Anki packages being built at once.
    pub exports: std::sync::Arc<tokio::sync::Semaphore>,
    /// The group-commit writer of grades.
    pub grader: Grader,
    /// Recent session lookups (shared with background jobs that change what a session
    /// carries).
    pub sessions: std::sync::Arc<SessionCache>,
    /// Each student's last review queues (`study::review::QueueCache`).
    pub queues: std::sync::Arc<crate::study::review::QueueCache>,
    /// FSRS fits of classes and students: jobs in the site's queue.
    pub fits: std::sync::Arc<crate::study::fits::FitJobs>,
    /// The key signing pre-login CSRF tokens, the same on every server of the site.
    pub csrf_key: crate::auth::csrf_key::AnonKey,
    /// The OpenID Connect providers (university sign-on), their discovery cached.
    pub sign_on: std::sync::Arc<crate::auth::oidc::Providers>,
    /// Mail (None without SMTP settings: every mail feature hidden).
    pub mail: Option<crate::mail::Site>,
    /// The worker of password reset requests (with mail).
    pub resets: Option<crate::study::mail::ResetQueue>,
}

impl AppState {
    /// Queues a fit of FSRS to a class or a student, unless that fit is queued or running.
    pub async fn start_fit(&self, what: crate::study::fits::FitOf) -> Result<bool, sqlx::Error> {
        self.fits.start(what, self.clock.now()).await
    }
}

/// A server bound to its port, ready to run.
pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    limits: open_files::ConnectionLimits,
    jobs: crate::jobs::RunnerHandle,
    mail: Option<(
        crate::jobs::mail::SenderHandle,
        crate::jobs::mail::RemindersHandle,
    )>,
}

impl Application {
    /// Opens the database (migrating it and importing the course deck on first start) and
    /// binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::open_with(&settings.database, settings.pool_sizes)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open database {}: {e}", settings.database))?;
        for deck in
            course::seed_on_first_start(db.writer(), settings.clock.now().as_second()).await?
        {
            tracing::info!(%deck, "imported a shipped deck");
        }
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let jobs = crate::jobs::Queue::new(db.clone(), crate::jobs::default_cap());
        let sessions = std::sync::Arc::new(if db.may_be_shared() {
            SessionCache::shared()
        } else {
            SessionCache::local()
        });
        let queues = std::sync::Arc::new(if db.may_be_shared() {
            crate::study::review::QueueCache::shared()
        } else {
            crate::study::review::QueueCache::local()
        });
        if let Some(changes) = db.changes() {
            sessions.clone().follow(changes, queues.clone()).await;
        }
        let state = web::Data::new(AppState {
            db: db.clone(),
            clock: settings.clock.clone(),
            // With local passwords off, nobody registers one; accounts come by sign-on.
            registration: if settings.sign_on.local_login {
                settings.registration
            } else {
                Registration::Closed
            },
            max_interval_days: settings.max_interval_days,
            secure_cookies: settings.secure_cookies,
            behind_proxy: settings.behind_proxy,
            throttle: LoginThrottle::default(),
            writes: crate::auth::budget::WriteBudget::default(),
            quotas: crate::auth::quota::Quotas::default(),
            handover: crate::auth::handover::Handover::default(),
            imports: crate::study::import::import_slots(),
            exports: crate::study::decks::export_slots(),
            sessions: sessions.clone(),
            queues: queues.clone(),
            fits: std::sync::Arc::new(crate::study::fits::FitJobs::new(jobs.clone())),
            grader: Grader::spawn(db.clone(), settings.max_interval_days),
            csrf_key: crate::auth::csrf_key::AnonKey::load_or_create(db.writer()).await?,
            sign_on: std::sync::Arc::new(crate::auth::oidc::Providers::new(
                settings.sign_on.clone(),
            )?),
            mail: settings.mail.as_ref().map(crate::mail::Site::of),
            resets: settings.mail.as_ref().map(|mail| {
                crate::study::mail::ResetQueue::spawn(db.clone(), crate::mail::Site::of(mail))
            }),
        });
        // Mail (src/jobs/mail.rs): this server sends its share of the outbox.
        let mail = match &settings.mail {
            Some(mail) => {
                let transport = std::sync::Arc::new(crate::mail::smtp::Smtp::new(mail)?);
                // The site's clock (tests move it), as for every mail time.
                let sender = crate::jobs::mail::Sender::new(
                    db.clone(),
                    transport,
                    crate::jobs::instance_id(),
                )
                .with_clock(settings.clock.clone())
                .spawn();
                let reminders = crate::jobs::mail::spawn_reminders(
                    db.clone(),
                    crate::mail::Site::of(mail),
                    settings.clock.clone(),
                );
                Some((sender, reminders))
            }
            None => None,
        };
        // Background jobs (src/jobs): this server takes its share of the site's queue.
        let fits = crate::study::fits::FitContext {
            db: db.clone(),
            sessions,
            max_interval_days: settings.max_interval_days,
        };
        let jobs = crate::study::fits::handlers(
            crate::jobs::Runner::new(jobs, crate::jobs::instance_id()),
            fits,
        )
        .spawn();
        let access_log = std::sync::Arc::new(crate::web::access_log::AccessLog::default());
        crate::web::access_log::AccessLog::spawn_summaries(access_log.clone());
        let timeouts = settings.timeouts.with_server_floor();
        let workers = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let open_file_limit = open_files::open_file_limit();
        let limits = open_files::connection_limits(
            settings.max_connections,
            open_file_limit.unwrap_or(1024),
            workers,
        );
        tracing::info!(
            open_files = ?open_file_limit,
            reserved_files = open_files::RESERVED_FILES,
            workers = limits.workers,
            connections_per_worker = limits.per_worker,
            connections = limits.total(),
            header_timeout = ?timeouts.header,
            keep_alive_timeout = ?timeouts.keep_alive,
            body_idle_timeout = ?timeouts.body_idle,
            body_timeout = ?timeouts.body,
            disconnect_timeout = ?timeouts.disconnect,
            "connection limits"
        );
        let deadlines = body_timeout::BodyDeadlines {
            idle: timeouts.body_idle,
            total: timeouts.body,
        };
        // Between requests, a connection may be idle for the keep-alive and then take a
        // header timeout over its next request's headers; past both it is shut (conn_watch).
        let watchdog = conn_watch::Watchdog::spawn(timeouts.keep_alive + timeouts.header);
        let on_connect = watchdog.clone();
        let server = HttpServer::new(move || {
            let watchdog = watchdog.clone();
            let access_log = access_log.clone();
            App::new()
                .app_data(state.clone())
                .configure(routes::configure)
                // Error pages show the user's navigation (inside the headers, which they get too).
                .wrap(ErrorHandlers::new().default_handler(crate::web::error::with_user_nav))
                // A request that writes forgets its user's kept review queues once answered,
                // so the page after it on this server reads what it wrote (other servers hear
                // of it by notice: `study::review::QueueCache`).
                .wrap_fn(|req, srv| {
                    let writes = !matches!(*req.method(), Method::GET | Method::HEAD);
                    let response = srv.call(req);
                    async move {
                        let response = response.await?;
                        if writes {
                            let request = response.request();
                            if let (Some(user), Some(state)) = (
                                request
                                    .extensions()
                                    .get::<crate::web::extract::CurrentUser>(),
                                request.app_data::<web::Data<AppState>>(),
                            ) {
                                state.queues.forget_user(user.id);
                            }
                        }
                        Ok(response)
                    }
                })
                // Each scope's security headers (`policy`), error pages included.
                .wrap_fn(|req, srv| {
                    let policy = crate::web::policy::for_path(req.path());
                    let response = srv.call(req);
                    async move {
                        let mut response = response.await?;
                        policy.apply(response.headers_mut());
                        Ok(response)
                    }
                })
                .wrap_fn(move |mut req, srv| {
                    // The access log (see access_log): counters for every request, a line for
                    // a server error or a slow one, every line at debug level. The same (one)
                    // middleware serves HEAD as GET and completes 405's Allow.
                    let started = Instant::now();
                    // Kept for the log line (HEAD is served as GET below); the path is read
                    // from the answered request, and only when a line is written.
                    let method = req.method().clone();
                    routes::route_head_as_get(&mut req);
                    let response = srv.call(req);
                    let log = access_log.clone();
                    async move {
                        let mut response = response.await?;
                        routes::allow_head(&mut response);
                        let status = response.status().as_u16();
                        let micros =
                            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                        if log.record(status, micros) {
                            let path = response.request().path();
                            tracing::warn!(%method, %path, status, micros, "request");
                        } else {
                            let path = response.request().path();
                            tracing::debug!(%method, %path, status, micros, "request");
                        }
                        Ok(response.map_into_boxed_body())
                    }
                })
                // Outermost, so a body that stops arriving is answered 408 whatever the route.
                .wrap_fn(move |mut req, srv| {
                    let watch = body_timeout::watch(&mut req, deadlines);
                    let response = srv.call(req);
                    async move { watch.finish(response.await) }
                })
                // The connection is busy from its request's headers to its response's last
                // byte; the watchdog only shuts connections idle between requests.
                .wrap_fn(move |req, srv| {
                    let busy = req
                        .conn_data::<conn_watch::Handle>()
                        .map(|handle| watchdog.busy(handle));
                    let response = srv.call(req);
                    async move {
                        Ok(response
                            .await?
                            .map_body(|_, body| held_body::HeldBody::boxed(body, busy)))
                    }
                })
        })
        .on_connect(move |connection, data| {
            if let Some(handle) = on_connect.register(connection) {
                data.insert(handle);
            }
        })
        .workers(limits.workers)
        .max_connections(limits.per_worker)
        .client_request_timeout(timeouts.header)
        .keep_alive(KeepAlive::Timeout(timeouts.keep_alive))
        .client_disconnect_timeout(timeouts.disconnect)
        .listen(listener)?
        .shutdown_timeout(10)
        // SIGINT and SIGTERM are taken by `run_until_stopped`, which stops the mail sender
        // too as the server stops accepting.
        .disable_signals()
        .run();
        Ok(Self {
            port,
            server,
            db,
            limits,
            jobs,
            mail,
        })
    }

    /// How many connections the server holds open at most, and the figures behind it.
    pub fn connection_limits(&self) -> open_files::ConnectionLimits {
        self.limits
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM (or `handle().stop()`), then stops gracefully: the server
    /// stops accepting and the mail sender starts no new send at once; the requests under way
    /// finish (within 10 s); then the jobs running here are put back in the queue while the
    /// sender finishes its send under way (within its send timeout) and hands the rest back;
    /// last the database is closed cleanly. SIGQUIT stops at once.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let sender = self.mail.as_ref().map(|(sender, _)| sender.stopper());
        let signals = tokio::spawn(async move {
            let graceful = stop_signal().await;
            tracing::info!(graceful, "stopping: no new connections or mail sends");
            let stopped = handle.stop(graceful);
            if let Some(sender) = sender {
                sender.begin_stop();
            }
            stopped.await;
        });
        let result = self.server.await;
        signals.abort();
        let mail = async {
            if let Some((sender, reminders)) = self.mail {
                drop(reminders);
                sender.stop().await;
            }
        };
        tokio::join!(self.jobs.stop(), mail);
        self.db.close().await;
        result
    }
}

/// Waits for a stop signal: true for a graceful one (SIGINT, SIGTERM), false for SIGQUIT.
#[cfg(unix)]
async fn stop_signal() -> bool {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut quit)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::quit()),
    ) else {
        tracing::error!("cannot listen for stop signals");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => true,
        _ = term.recv() => true,
        _ = quit.recv() => false,
    }
}

/// Waits for Ctrl-C.
#[cfg(not(unix))]
async fn stop_signal() -> bool {
    if tokio::signal::ctrl_c().await.is_err() {
        return std::future::pending().await;
    }
    true
}
