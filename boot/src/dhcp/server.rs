//! The DHCP server's sockets: one per interface (SO_BINDTODEVICE), so every reply names the
//! address of the interface the request arrived on. Bad packets are counted and dropped.

use dhcproto::{Encodable, v4::Message};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use super::DhcpError;
use super::config::{DhcpConfig, DhcpMode};
use super::directory::{BootDirectory, LeaseStore};
use super::responder::{Arrival, Destination, Outcome, Port, Responder};
use crate::iface;

/// Packet counters, readable while the server runs.
#[derive(Debug, Default)]
pub struct DhcpStats {
    pub received: AtomicU64,
    pub malformed: AtomicU64,
    pub replied: AtomicU64,
    pub ignored: AtomicU64,
    pub send_errors: AtomicU64,
}

/// A running DHCP server. Dropping it stops it.
pub struct DhcpServer {
    tasks: Vec<JoinHandle<()>>,
    stats: Arc<DhcpStats>,
    responder: Arc<Responder>,
    addresses: Vec<(String, Ipv4Addr)>,
}

impl DhcpServer {
    /// Opens the sockets and starts serving on the current tokio runtime.
    pub async fn start(
        config: DhcpConfig,
        directory: Arc<dyn BootDirectory>,
        store: Arc<dyn LeaseStore>,
    ) -> Result<Self, DhcpError> {
        let responder = Arc::new(Responder::new(config, directory, store, unix_now())?);
        let config = responder.config().clone();
        let stats = Arc::new(DhcpStats::default());
        let mut tasks = Vec::new();
        let mut addresses = Vec::new();
        for listen in &config.listen {
            let server_ip = match listen.server_ip {
                Some(ip) => ip,
                None => iface::ipv4_of_interface(&listen.interface)?,
            };
            addresses.push((listen.interface.clone(), server_ip));
            let mut ports = vec![(config.server_port, Port::Dhcp)];
            if config.mode == DhcpMode::Proxy {
                ports.push((config.proxy_port, Port::Proxy));
            }
            for (port, kind) in ports {
                let bind = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
                let std_socket = iface::udp_socket(bind, Some(&listen.interface))?;
                let socket = UdpSocket::from_std(std_socket)?;
                let worker = Worker {
                    socket,
                    arrival: Arrival {
                        server_ip,
                        port: kind,
                    },
                    responder: responder.clone(),
                    stats: stats.clone(),
                    server_port: config.server_port,
                    client_port: config.client_port,
                };
                tasks.push(tokio::spawn(worker.run()));
            }
            tracing::info!(interface = %listen.interface, %server_ip, mode = ?config.mode, "DHCP serving");
        }
        Ok(Self {
            tasks,
            stats,
            responder,
            addresses,
        })
    }

    /// Live packet counters (shareable with a metrics endpoint).
    pub fn stats(&self) -> Arc<DhcpStats> {
        self.stats.clone()
    }

    /// (interface, server address) pairs being served.
    pub fn addresses(&self) -> &[(String, Ipv4Addr)] {
        &self.addresses
    }

    /// Unexpired dynamic leases and pending offers.
    pub fn active_leases(&self) -> usize {
        self.responder.active_leases(unix_now())
    }

    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for DhcpServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

struct Worker {
    socket: UdpSocket,
    arrival: Arrival,
    responder: Arc<Responder>,
    stats: Arc<DhcpStats>,
    server_port: u16,
    client_port: u16,
}

impl Worker {
    async fn run(self) {
        let mut buf = vec![0u8; 4096];
        loop {
            let (len, from) = match self.socket.recv_from(&mut buf).await {
                Ok(got) => got,
                Err(e) => {
                    tracing::warn!(error = %e, "DHCP receive failed");
                    continue;
                }
            };
            self.stats.received.fetch_add(1, Ordering::Relaxed);
            let Some(request) = super::packet::decode(&buf[..len]) else {
                self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%from, len, "dropped malformed DHCP packet");
                continue;
            };
            match self.responder.handle(&request, self.arrival, unix_now()) {
                Outcome::Reply(reply, dest) => self.send(&reply, dest, from).await,
                Outcome::Ignored(why) => {
                    self.stats.ignored.fetch_add(1, Ordering::Relaxed);
                    tracing::trace!(%from, why, "DHCP request not answered");
                }
            }
        }
    }

    async fn send(&self, reply: &Message, dest: Destination, from: SocketAddr) {
        let to = match dest {
            Destination::Broadcast => {
                SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::BROADCAST, self.client_port))
            }
            Destination::Client(ip) => SocketAddr::V4(SocketAddrV4::new(ip, self.client_port)),
            Destination::Relay(ip) => SocketAddr::V4(SocketAddrV4::new(ip, self.server_port)),
            Destination::Source => from,
        };
        let bytes = match reply.to_vec() {
            Ok(bytes) => bytes,
            Err(e) => {
                self.stats.send_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "could not encode DHCP reply");
                return;
            }
        };
        match self.socket.send_to(&bytes, to).await {
            Ok(_) => {
                self.stats.replied.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.stats.send_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%to, error = %e, "could not send DHCP reply");
            }
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
