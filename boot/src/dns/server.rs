//! The authoritative DNS server (hickory-server) with zones that can be replaced while it runs.

use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::Catalog;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::DnsError;
use super::catalog::catalog;
use super::zones::{ZoneSet, build_zones};
use crate::iface;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DnsConfig {
    /// UDP and TCP listen addresses.
    pub listen: Vec<SocketAddr>,
    /// Idle timeout of TCP connections.
    pub tcp_timeout_secs: u64,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            listen: vec![SocketAddr::from(([0, 0, 0, 0], 53))],
            tcp_timeout_secs: 10,
        }
    }
}

/// Serves the current catalog; `reload` swaps it atomically.
#[derive(Clone, Default)]
struct SwappableCatalog {
    current: Arc<RwLock<Arc<Catalog>>>,
}

impl SwappableCatalog {
    fn get(&self) -> Arc<Catalog> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set(&self, catalog: Catalog) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(catalog);
    }
}

#[async_trait::async_trait]
impl RequestHandler for SwappableCatalog {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        let catalog = self.get();
        catalog
            .handle_request::<R, T>(request, response_handle)
            .await
    }
}

/// A running DNS server. Dropping it stops it.
pub struct DnsServer {
    server: Server<SwappableCatalog>,
    zones: SwappableCatalog,
    local_addrs: Vec<SocketAddr>,
}

impl DnsServer {
    /// Binds every listen address (UDP + TCP) and serves `set` with `serial`.
    pub async fn start(config: &DnsConfig, set: &ZoneSet, serial: u32) -> Result<Self, DnsError> {
        let zones = SwappableCatalog::default();
        zones.set(catalog(&build_zones(set, serial)?)?);
        let mut server = Server::new(zones.clone());
        let mut local_addrs = Vec::new();
        for addr in &config.listen {
            let udp = tokio::net::UdpSocket::from_std(iface::udp_socket(*addr, None)?)?;
            let bound = udp.local_addr()?;
            // Same port for TCP as UDP, also when the UDP port was picked by the kernel.
            let tcp = tokio::net::TcpListener::bind(bound).await.map_err(|e| {
                DnsError::Io(std::io::Error::new(
                    e.kind(),
                    format!("cannot bind TCP {bound}: {e}"),
                ))
            })?;
            server.register_socket(udp);
            server.register_listener(tcp, Duration::from_secs(config.tcp_timeout_secs), 65_535);
            tracing::info!(%bound, "DNS serving");
            local_addrs.push(bound);
        }
        Ok(Self {
            server,
            zones,
            local_addrs,
        })
    }

    /// Replaces all zones; queries in flight finish on the old data.
    pub fn reload(&self, set: &ZoneSet, serial: u32) -> Result<(), DnsError> {
        self.zones.set(catalog(&build_zones(set, serial)?)?);
        Ok(())
    }

    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    pub async fn shutdown(mut self) {
        let _ = self.server.shutdown_gracefully().await;
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.server.shutdown_token().cancel();
    }
}
