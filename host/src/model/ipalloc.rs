//! Lowest-free-first address allocation inside one network, IPv4 or IPv6.

use super::error::{LunaError, Result};
use ipnet::IpNet;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Hands out the lowest free host addresses of `net`, skipping the `used` ones.
pub struct IpAllocator {
    net: IpNet,
    used: HashSet<IpAddr>,
    next: u128,
    last: u128,
}

impl IpAllocator {
    pub fn new(net: IpNet, used: impl IntoIterator<Item = IpAddr>) -> Self {
        let (first, last) = host_bounds(net);
        Self {
            net,
            used: used.into_iter().collect(),
            next: first,
            last,
        }
    }

    /// The lowest free address, now marked used. `what` names the network in the error.
    pub fn allocate(&mut self, network_name: &str) -> Result<IpAddr> {
        while self.next <= self.last {
            let ip = from_u128(self.net, self.next);
            self.next += 1;
            if self.used.insert(ip) {
                return Ok(ip);
            }
        }
        Err(LunaError::conflict(format!(
            "network '{network_name}' ({}) has no free address left; free some with 'luna network change {network_name} --release ...', delete unused nodes, or use a larger network",
            self.net
        )))
    }

    /// Marks a specific address used (it must be a free host address of the network).
    pub fn take(&mut self, network_name: &str, ip: IpAddr) -> Result<()> {
        check_host(network_name, self.net, ip)?;
        if !self.used.insert(ip) {
            return Err(LunaError::conflict(format!(
                "address {ip} on network '{network_name}' is already taken; pick a free one (see 'luna network show {network_name}')"
            )));
        }
        Ok(())
    }
}

/// First and last assignable host address as integers: the network and broadcast addresses are
/// left out for IPv4 prefixes shorter than /31; IPv6 leaves out only the subnet-router anycast.
pub fn host_bounds(net: IpNet) -> (u128, u128) {
    let base = to_u128(net.network());
    let size_bits = net.max_prefix_len() - net.prefix_len();
    let last = if size_bits >= 128 {
        u128::MAX
    } else {
        base + ((1u128 << size_bits) - 1)
    };
    match net {
        IpNet::V4(_) if size_bits >= 2 => (base + 1, last - 1),
        IpNet::V6(_) if size_bits >= 1 => (base + 1, last),
        _ => (base, last),
    }
}

/// Error unless `ip` is an assignable host address inside `net`.
pub fn check_host(network_name: &str, net: IpNet, ip: IpAddr) -> Result<()> {
    let (first, last) = host_bounds(net);
    let n = to_u128(ip);
    if !net.contains(&ip) || n < first || n > last {
        return Err(LunaError::invalid(format!(
            "address {ip} is not a host address of network '{network_name}' ({net}); pick one between {} and {}",
            from_u128(net, first),
            from_u128(net, last)
        )));
    }
    Ok(())
}

pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

pub fn from_u128(net: IpNet, n: u128) -> IpAddr {
    match net {
        IpNet::V4(_) => IpAddr::V4(Ipv4Addr::from(n as u32)),
        IpNet::V6(_) => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

/// The addresses from `a` to `b` inclusive (at most `limit`), for reserve/release ranges.
pub fn range(net: IpNet, a: IpAddr, b: IpAddr, limit: usize) -> Result<Vec<IpAddr>> {
    let (lo, hi) = (to_u128(a), to_u128(b));
    if lo > hi {
        return Err(LunaError::invalid(format!(
            "range {a}-{b} goes backwards; write the lower address first"
        )));
    }
    if hi - lo >= limit as u128 {
        return Err(LunaError::invalid(format!(
            "range {a}-{b} holds more than {limit} addresses; split it"
        )));
    }
    Ok((lo..=hi).map(|n| from_u128(net, n)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn allocates_lowest_free_first_skipping_used() {
        let net: IpNet = "10.141.0.0/29".parse().unwrap();
        let mut a = IpAllocator::new(net, [ip("10.141.0.1"), ip("10.141.0.3")]);
        assert_eq!(a.allocate("c").unwrap(), ip("10.141.0.2"));
        assert_eq!(a.allocate("c").unwrap(), ip("10.141.0.4"));
        assert_eq!(a.allocate("c").unwrap(), ip("10.141.0.5"));
        assert_eq!(a.allocate("c").unwrap(), ip("10.141.0.6"));
        let e = a.allocate("c").unwrap_err();
        assert!(e.message.contains("no free address"), "{e}");
    }

    #[test]
    fn ipv6_and_host_checks() {
        let net: IpNet = "fd00::/64".parse().unwrap();
        let mut a = IpAllocator::new(net, []);
        assert_eq!(a.allocate("v6").unwrap(), ip("fd00::1"));
        assert!(a.take("v6", ip("fd00::1")).is_err());
        assert!(
            a.take("v6", ip("fd01::1"))
                .unwrap_err()
                .message
                .contains("not a host address")
        );
        let v4: IpNet = "10.0.0.0/24".parse().unwrap();
        assert!(check_host("n", v4, ip("10.0.0.255")).is_err());
        assert!(check_host("n", v4, ip("10.0.0.0")).is_err());
        assert!(check_host("n", v4, ip("10.0.0.254")).is_ok());
    }
}
