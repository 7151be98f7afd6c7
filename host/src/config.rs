//! Daemon configuration: `luna.toml` (from `--config`, else `/etc/luna/luna.toml` when present),
//! overridden by command-line flags. Every field has a default, so no file is needed.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7050";
const SYSTEM_CONFIG: &str = "/etc/luna/luna.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub dist: crate::dist::DistSection,
    /// Boot services: each runs only when its section is present.
    pub dhcp: Option<crate::boot::DhcpSection>,
    pub tftp: Option<crate::boot::TftpSection>,
    pub dns: Option<crate::boot::DnsSection>,
    #[serde(default)]
    pub discovery: DiscoverySection,
}

/// `[discovery]`: the switch poller's timings, in seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoverySection {
    /// Time between polls of every switch (default 30).
    pub poll_interval: Option<f64>,
    /// A MAC not seen again for this long is forgotten (default 300).
    pub expiry: Option<f64>,
    /// Longest one switch poll may take (default 60).
    pub poll_timeout: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    /// `surrealkv://DIR`, `mem://` or `ws://HOST:PORT`; defaults to surrealkv under the data dir.
    pub store: Option<String>,
    /// `text` or `json`.
    pub log_format: Option<String>,
}

/// The settings `luna serve` runs with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub store: String,
    pub log_json: bool,
    pub dist: crate::dist::DistSection,
    pub boot: crate::boot::BootConfig,
    pub discovery: crate::discovery::DiscoverySettings,
}

impl FileConfig {
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None if Path::new(SYSTEM_CONFIG).exists() => PathBuf::from(SYSTEM_CONFIG),
            None => return Ok(Self::default()),
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("config file {} is not valid", path.display()))
    }
}

/// `/var/lib/luna` for root, `./luna-data` for everyone else.
pub fn default_data_dir() -> PathBuf {
    if running_as_root() {
        PathBuf::from("/var/lib/luna")
    } else {
        PathBuf::from("luna-data")
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

pub fn resolve(
    file: FileConfig,
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    store: Option<String>,
    log_format: Option<String>,
) -> Result<ServeConfig> {
    let discovery = discovery_settings(&file.discovery)?;
    let s = &file.server;
    let data_dir = data_dir
        .or(s.data_dir.clone())
        .unwrap_or_else(default_data_dir);
    let data_dir = std::path::absolute(&data_dir)
        .with_context(|| format!("data directory {} cannot be resolved", data_dir.display()))?;
    let store = store
        .or(s.store.clone())
        .unwrap_or_else(|| format!("surrealkv://{}", data_dir.join("db").display()));
    let log_format = log_format
        .or(s.log_format.clone())
        .unwrap_or_else(|| "text".into());
    let log_json = match log_format.as_str() {
        "text" => false,
        "json" => true,
        other => bail!("log format '{other}' is not known; use text or json"),
    };
    Ok(ServeConfig {
        listen: listen
            .or(s.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default")),
        data_dir,
        store,
        log_json,
        dist: file.dist,
        boot: crate::boot::BootConfig {
            dhcp: file.dhcp,
            tftp: file.tftp,
            dns: file.dns,
        },
        discovery,
    })
}

fn discovery_settings(d: &DiscoverySection) -> Result<crate::discovery::DiscoverySettings> {
    let mut out = crate::discovery::DiscoverySettings::default();
    for (key, value, target) in [
        ("poll_interval", d.poll_interval, &mut out.interval),
        ("expiry", d.expiry, &mut out.expiry),
        ("poll_timeout", d.poll_timeout, &mut out.timeout),
    ] {
        if let Some(v) = value {
            if !(v.is_finite() && (0.1..=86_400.0).contains(&v)) {
                bail!(
                    "[discovery] {key} = {v} is out of range; give seconds between 0.1 and 86400"
                );
            }
            *target = std::time::Duration::from_secs_f64(v);
        }
    }
    Ok(out)
}
