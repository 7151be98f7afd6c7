//! The daemon's boot services: DHCP (full or proxy), TFTP and DNS from `luna-boot`, configured
//! by the `[dhcp]`, `[tftp]` and `[dns]` sections of luna.toml and fed from the store. A reload
//! task follows `Luna::changes()`: it refreshes the in-memory boot directory, the DNS zones and,
//! when the served subnets changed (e.g. a new DHCP range), restarts DHCP.
//!
//! Nodes fetch `/boot/ipxe` from `http://<address of the interface the DHCP request arrived
//! on>:<HTTP port>`, so the HTTP listener must be reachable there: `--listen 0.0.0.0:7050`.

pub mod bench;
pub mod cache;
pub mod leases;
pub mod scripts;
mod wrk_load;

use crate::service::Luna;
use anyhow::{Context, Result};
use cache::BootCache;
use luna_boot::dhcp::{
    BootDirectory, BootFiles, DhcpConfig, DhcpListen, DhcpMode, DhcpServer, DhcpSubnet, FixedLease,
};
use luna_boot::dns::{DnsConfig, DnsServer, ZoneSet};
use luna_boot::tftp::{TftpConfig, TftpServer};
use luna_proto::boot::{BootRequest, FirmwareArch, MacAddress};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// `[dhcp]`: serve DHCP on these interfaces.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DhcpSection {
    /// Interface names, e.g. `["eth1"]`; next-server and boot URL are each one's address.
    pub interfaces: Vec<String>,
    /// `full` (addresses + boot options) or `proxy` (boot options next to a site DHCP server).
    #[serde(default)]
    pub mode: DhcpMode,
    /// Networks to serve; default: every IPv4 network with a DHCP range or a node's BOOTIF.
    #[serde(default)]
    pub networks: Vec<String>,
    /// iPXE binaries handed out per firmware (names in the TFTP root).
    #[serde(default)]
    pub bios_file: Option<String>,
    #[serde(default)]
    pub efi_file: Option<String>,
    #[serde(default)]
    pub lease_secs: Option<u32>,
}

impl DhcpSection {
    /// The iPXE binaries per firmware: the defaults with this section's overrides.
    pub fn boot_files(&self) -> BootFiles {
        let defaults = BootFiles::default();
        BootFiles {
            bios: self.bios_file.clone().unwrap_or(defaults.bios),
            efi_x64: self.efi_file.clone().unwrap_or(defaults.efi_x64),
            ..defaults
        }
    }

    pub fn lease_secs(&self) -> u32 {
        self.lease_secs.unwrap_or(3600)
    }

    /// What `luna cluster makedhcp` takes from this section, so a site's server hands out what
    /// the daemon's own would.
    pub fn export_options(&self) -> crate::service::DhcpExportOptions {
        crate::service::DhcpExportOptions {
            boot_files: self.boot_files(),
            networks: self.networks.clone(),
            lease_secs: self.lease_secs(),
            interfaces: self.interfaces.clone(),
        }
    }
}

/// `[tftp]`: the iPXE binaries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TftpSection {
    #[serde(default = "default_tftp_listen")]
    pub listen: SocketAddr,
    /// Default: Debian's `ipxe` package (/usr/lib/ipxe).
    #[serde(default = "default_tftp_root")]
    pub root: PathBuf,
    /// Pin the socket to one interface.
    #[serde(default)]
    pub interface: Option<String>,
}

/// `[dns]`: authoritative for the cluster zones.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSection {
    #[serde(default = "default_dns_listen")]
    pub listen: Vec<SocketAddr>,
}

fn default_tftp_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 69))
}
fn default_tftp_root() -> PathBuf {
    PathBuf::from(luna_boot::tftp::DEFAULT_TFTP_ROOT)
}
fn default_dns_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([0, 0, 0, 0], 53))]
}

#[derive(Debug, Clone, Default)]
pub struct BootConfig {
    pub dhcp: Option<DhcpSection>,
    pub tftp: Option<TftpSection>,
    pub dns: Option<DnsSection>,
}

/// Running boot services; dropping this stops them.
pub struct BootServices {
    _tftp: Option<TftpServer>,
    reloader: JoinHandle<()>,
}

impl Drop for BootServices {
    fn drop(&mut self) {
        self.reloader.abort();
    }
}

/// What the reload task owns.
struct Live {
    luna: Luna,
    cache: Arc<BootCache>,
    dhcp_section: Option<DhcpSection>,
    http_port: u16,
    dhcp: Option<(DhcpServer, Vec<DhcpSubnet>)>,
    dns: Option<DnsServer>,
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl BootServices {
    /// Starts what `cfg` configures; `http_port` is the HTTP listener's port (boot URL).
    pub async fn start(
        luna: Luna,
        cfg: &BootConfig,
        http_port: u16,
        cache: Arc<BootCache>,
    ) -> Result<Self> {
        let tftp = match &cfg.tftp {
            Some(t) => Some(
                TftpServer::start(TftpConfig {
                    root: t.root.clone(),
                    bind: t.listen,
                    interface: t.interface.clone(),
                })
                .await
                .with_context(|| {
                    format!("cannot start TFTP on {} ([tftp] in luna.toml)", t.listen)
                })?,
            ),
            None => None,
        };
        let dns = match &cfg.dns {
            Some(d) => {
                let (set, serial) = zones_or_empty(&luna).await;
                Some(
                    DnsServer::start(
                        &DnsConfig {
                            listen: d.listen.clone(),
                            ..DnsConfig::default()
                        },
                        &set,
                        serial,
                    )
                    .await
                    .with_context(|| {
                        format!("cannot start DNS on {:?} ([dns] in luna.toml)", d.listen)
                    })?,
                )
            }
            None => None,
        };
        let mut live = Live {
            luna: luna.clone(),
            cache,
            dhcp_section: cfg.dhcp.clone(),
            http_port,
            dhcp: None,
            dns,
        };
        live.sync_dhcp().await?;
        let mut changes = luna.changes();
        let reloader = tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                // Coalesce bursts (a node add, a wave of leases) into one reload.
                tokio::time::sleep(Duration::from_millis(150)).await;
                changes.borrow_and_update();
                live.reload().await;
            }
        });
        Ok(Self {
            _tftp: tftp,
            reloader,
        })
    }
}

/// The zones, or none yet (before `luna cluster init`).
async fn zones_or_empty(luna: &Luna) -> (ZoneSet, u32) {
    match luna.dns_zones(unix_now()).await {
        Ok(z) => z,
        Err(e) => {
            tracing::info!(reason = %e.message, "DNS serves no zones yet");
            let empty = ZoneSet {
                nameserver: "luna".into(),
                hostmaster: None,
                ttl: 3600,
                zones: vec![],
            };
            (empty, 1)
        }
    }
}

impl Live {
    async fn reload(&mut self) {
        if let Err(e) = self.cache.reload(&self.luna).await {
            tracing::warn!(error = %e.message, "boot directory reload failed; serving the previous one");
        }
        if let Some(dns) = &self.dns {
            let (set, serial) = zones_or_empty(&self.luna).await;
            if let Err(e) = dns.reload(&set, serial) {
                tracing::warn!(error = %e, "DNS zones not reloaded; serving the previous ones");
            }
        }
        if let Err(e) = self.sync_dhcp().await {
            tracing::warn!(error = %format!("{e:#}"), "DHCP not restarted");
        }
    }

    /// (Re)starts DHCP when the subnets to serve differ from what runs.
    async fn sync_dhcp(&mut self) -> Result<()> {
        let Some(section) = &self.dhcp_section else {
            return Ok(());
        };
        let subnets: Vec<DhcpSubnet> = self
            .luna
            .dhcp_subnets(&section.networks)
            .await
            .map_err(|e| anyhow::anyhow!("[dhcp] networks: {}", e.message))?
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        if self.dhcp.as_ref().is_some_and(|(_, s)| *s == subnets) {
            return Ok(());
        }
        if let Some((old, _)) = self.dhcp.take() {
            old.stop();
        }
        if section.mode == DhcpMode::Full && subnets.is_empty() {
            tracing::info!(
                "DHCP waits for a network to serve: give one a DHCP range or add nodes with a BOOTIF address"
            );
            return Ok(());
        }
        let config = DhcpConfig {
            mode: section.mode,
            listen: section
                .interfaces
                .iter()
                .map(|i| DhcpListen {
                    interface: i.clone(),
                    server_ip: None,
                })
                .collect(),
            subnets: subnets.clone(),
            boot_files: section.boot_files(),
            ipxe_url: format!("http://{{server}}:{}/boot/ipxe", self.http_port),
            lease_secs: section.lease_secs(),
            ..DhcpConfig::default()
        };
        let leases = leases::StoreLeases::open(self.luna.clone())
            .await
            .map_err(|e| anyhow::anyhow!("DHCP leases: {}", e.message))?;
        let directory = Arc::new(DhcpDirectory::new(self.luna.clone(), self.cache.clone()));
        let server = DhcpServer::start(config, directory, leases)
            .await
            .context("cannot start DHCP ([dhcp] in luna.toml)")?;
        self.dhcp = Some((server, subnets));
        Ok(())
    }
}

/// The DHCP server's view of the boot directory: fixed leases from the cache, and machines
/// without one recorded for `luna node unknown` (queued: the packet path must not wait).
struct DhcpDirectory {
    cache: Arc<BootCache>,
    unknown: tokio::sync::mpsc::UnboundedSender<(MacAddress, Option<FirmwareArch>)>,
}

impl DhcpDirectory {
    fn new(luna: Luna, cache: Arc<BootCache>) -> Self {
        let (tx, mut rx) =
            tokio::sync::mpsc::unbounded_channel::<(MacAddress, Option<FirmwareArch>)>();
        tokio::spawn(async move {
            while let Some((mac, arch)) = rx.recv().await {
                let platform = arch.map(|a| match a {
                    FirmwareArch::Bios => "pcbios".to_string(),
                    _ => "efi".to_string(),
                });
                let req = BootRequest {
                    mac: Some(mac),
                    macs: vec![mac],
                    platform,
                    ..BootRequest::default()
                };
                if let Err(e) = luna.unknown_seen(&req, None, unix_now()).await {
                    tracing::warn!(%mac, error = %e.message, "unknown machine not recorded");
                }
            }
        });
        Self { cache, unknown: tx }
    }
}

impl BootDirectory for DhcpDirectory {
    fn fixed_lease(&self, mac: MacAddress) -> Option<FixedLease> {
        self.cache.fixed_lease(mac)
    }

    fn unknown_client(&self, mac: MacAddress, arch: Option<FirmwareArch>) {
        let _ = self.unknown.send((mac, arch));
    }
}
