//! Interface lookups and sockets bound to one interface (SO_BINDTODEVICE), shared by the DHCP,
//! TFTP and DNS servers.

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};

/// The first IPv4 address of interface `name`.
pub fn ipv4_of_interface(name: &str) -> io::Result<Ipv4Addr> {
    let addrs = nix::ifaddrs::getifaddrs().map_err(io::Error::from)?;
    for ifa in addrs {
        if ifa.interface_name != name {
            continue;
        }
        if let Some(sin) = ifa.address.as_ref().and_then(|a| a.as_sockaddr_in()) {
            return Ok(sin.ip());
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("interface {name:?} has no IPv4 address (or does not exist): check `ip addr`"),
    ))
}

/// The interface that carries `ip`.
pub fn interface_with_ipv4(ip: Ipv4Addr) -> io::Result<String> {
    let addrs = nix::ifaddrs::getifaddrs().map_err(io::Error::from)?;
    for ifa in addrs {
        if ifa
            .address
            .as_ref()
            .and_then(|a| a.as_sockaddr_in())
            .is_some_and(|sin| sin.ip() == ip)
        {
            return Ok(ifa.interface_name);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("no interface has address {ip}: configure it or listen by interface name"),
    ))
}

/// A non-blocking UDP socket on `addr`, optionally pinned to `device`. Broadcast is allowed and
/// the address reusable, so one socket per interface can share a port.
pub fn udp_socket(addr: SocketAddr, device: Option<&str>) -> io::Result<std::net::UdpSocket> {
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_broadcast(addr.is_ipv4())?;
    // Boot storms arrive in bursts: a larger queue drops fewer requests (best effort, the
    // kernel caps it at net.core.rmem_max).
    let _ = socket.set_recv_buffer_size(4 << 20);
    if let Some(dev) = device {
        socket.bind_device(Some(dev.as_bytes())).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot bind a socket to interface {dev:?}: {e}"),
            )
        })?;
    }
    socket
        .bind(&addr.into())
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind UDP {addr}: {e}")))?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}
