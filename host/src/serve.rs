//! `luna serve`: the daemon. Opens the store, makes sure the API token exists, serves the API and
//! shuts down gracefully on SIGINT/SIGTERM.

use crate::api;
use crate::config::ServeConfig;
use crate::service::Luna;
use crate::store::Store;
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const TOKEN_FILE: &str = "token";

pub async fn run(cfg: ServeConfig) -> Result<()> {
    prepare_data_dir(&cfg.data_dir)?;
    let token = ensure_token(&cfg.data_dir)?;
    let store = Store::open(&cfg.store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let plugins = luna_plugin_host::PluginRuntime::new(luna_plugin_host::RuntimeConfig {
        cache_dir: Some(cfg.data_dir.join("plugin-cache")),
        ..Default::default()
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let luna = Luna::with_plugin_runtime(store, plugins);
    luna.set_discovery_settings(cfg.discovery);
    let poller = crate::discovery::poller::spawn(luna.clone());
    let dist = crate::dist::start(&luna, &cfg.data_dir, cfg.listen, &cfg.dist).await?;
    let cache = crate::boot::cache::BootCache::load(&luna)
        .await
        .map_err(|e| anyhow::anyhow!("boot directory: {e}"))?;
    let _boot =
        crate::boot::BootServices::start(luna.clone(), &cfg.boot, cfg.listen.port(), cache.clone())
            .await?;
    let mut app = app(luna, token, cache, &cfg.data_dir, dist.clone())
        .layer(tower_http::trace::TraceLayer::new_for_http());
    if let Some(dhcp) = &cfg.boot.dhcp {
        app = app.layer(axum::Extension(api::boot::DhcpExportSection(Arc::new(
            dhcp.clone(),
        ))));
    }
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; is another daemon running there? pick one with --listen",
                cfg.listen
            )
        })?;
    tracing::info!(listen = %cfg.listen, data_dir = %cfg.data_dir.display(), store = %redact(&cfg.store), "luna daemon ready");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("API server failed")?;
    dist.seeder.stop().await;
    poller.abort();
    tracing::info!("luna daemon stopped");
    Ok(())
}

/// Every HTTP route the daemon serves (also what `luna bench boot` measures).
pub fn app(
    luna: Luna,
    token: String,
    cache: Arc<crate::boot::cache::BootCache>,
    data_dir: &Path,
    dist: Arc<crate::dist::Distribution>,
) -> axum::Router {
    let token = api::Token(Arc::new(token));
    let boot_routes = api::boot::routes(api::boot::BootState {
        luna: luna.clone(),
        cache,
        data_dir: data_dir.to_path_buf(),
    });
    let tracker = dist.tracker.clone();
    api::router(luna.clone(), token.clone())
        .merge(api::images::router(luna, token, dist))
        .merge(boot_routes)
        // A node fetching its install plan is expected in its image's swarm.
        .layer(axum::Extension(tracker))
}

/// Creates the data directory and proves it is writable before anything else touches it.
pub fn prepare_data_dir(dir: &Path) -> Result<()> {
    let hint = || {
        format!(
            "data directory {} is not writable; run 'luna serve' as a user who can write it, or choose another with --data-dir",
            dir.display()
        )
    };
    std::fs::create_dir_all(dir).with_context(hint)?;
    let probe = dir.join(".write-probe");
    std::fs::write(&probe, b"ok").with_context(hint)?;
    std::fs::remove_file(&probe).with_context(hint)?;
    Ok(())
}

/// Reads the API token, generating it (mode 0600) on the first start.
pub fn ensure_token(dir: &Path) -> Result<String> {
    let path = token_path(dir);
    if path.exists() {
        let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "token file {} is readable by others (mode {mode:o}); run 'chmod 600 {}'",
                path.display(),
                path.display()
            );
        }
        let token = std::fs::read_to_string(&path)?.trim().to_string();
        if token.len() < 32 {
            bail!(
                "token file {} is damaged; delete it and restart the daemon to make a new one",
                path.display()
            );
        }
        return Ok(token);
    }
    let bytes: [u8; 32] = rand::random();
    let token = hex::encode(bytes);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create token file {}", path.display()))?;
    writeln!(f, "{token}")?;
    tracing::info!(path = %path.display(), "generated API token");
    Ok(token)
}

pub fn token_path(dir: &Path) -> PathBuf {
    dir.join(TOKEN_FILE)
}

/// Hides credentials in a store URL for logging.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_string(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler installs");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down");
}
