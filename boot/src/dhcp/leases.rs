//! The in-memory table of dynamic leases: which address each unknown machine holds, offers that
//! are reserved for a moment, and addresses a client declined (in use by someone else).

use luna_proto::boot::{DhcpLease, MacAddress};
use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::config::DhcpRange;

/// Seconds an address stays out of use after a client declined it.
const DECLINE_QUARANTINE_SECS: u64 = 600;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    ip: Ipv4Addr,
    expires: u64,
    bound: bool,
    hostname: Option<String>,
}

/// Why a REQUEST for a dynamic address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The requested address is not in this subnet's range.
    OutOfRange,
    /// Another client holds the address.
    Taken,
}

#[derive(Debug, Default)]
pub struct LeaseTable {
    by_mac: HashMap<MacAddress, Entry>,
    by_ip: HashMap<Ipv4Addr, MacAddress>,
    declined: HashMap<Ipv4Addr, u64>,
    /// Where the next free-address search starts, so a busy range is not rescanned from the
    /// bottom for every new client.
    cursor: HashMap<Ipv4Addr, u32>,
}

impl LeaseTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads persisted leases, skipping expired ones.
    pub fn restore(&mut self, leases: impl IntoIterator<Item = DhcpLease>, now: u64) {
        for lease in leases {
            if lease.expires_unix > now {
                self.insert(
                    lease.mac,
                    Entry {
                        ip: lease.ip,
                        expires: lease.expires_unix,
                        bound: true,
                        hostname: lease.client_hostname,
                    },
                );
            }
        }
    }

    /// Number of unexpired leases and offers.
    pub fn active(&self, now: u64) -> usize {
        self.by_mac.values().filter(|e| e.expires > now).count()
    }

    /// The address to offer `mac` in `range`: its current or previous one if still free, else the
    /// next free one. The address is held for `hold_secs`.
    pub fn offer(
        &mut self,
        mac: MacAddress,
        range: &DhcpRange,
        requested: Option<Ipv4Addr>,
        now: u64,
        hold_secs: u64,
    ) -> Option<Ipv4Addr> {
        if let Some(entry) = self.by_mac.get_mut(&mac)
            && range.contains(entry.ip)
            && !is_declined(&self.declined, entry.ip, now)
        {
            if !entry.bound || entry.expires <= now {
                entry.bound = false;
                entry.expires = entry.expires.max(now + hold_secs);
            }
            return Some(entry.ip);
        }
        let ip = requested
            .filter(|ip| range.contains(*ip) && self.is_free(*ip, now))
            .or_else(|| self.next_free(range, now))?;
        self.insert(
            mac,
            Entry {
                ip,
                expires: now + hold_secs,
                bound: false,
                hostname: None,
            },
        );
        Some(ip)
    }

    /// Binds `ip` to `mac` for `lease_secs` (REQUEST → ACK).
    pub fn bind(
        &mut self,
        mac: MacAddress,
        ip: Ipv4Addr,
        range: &DhcpRange,
        now: u64,
        lease_secs: u64,
        hostname: Option<String>,
    ) -> Result<DhcpLease, Refusal> {
        if !range.contains(ip) {
            return Err(Refusal::OutOfRange);
        }
        let ours = self.by_ip.get(&ip) == Some(&mac);
        if !ours && !self.is_free(ip, now) {
            return Err(Refusal::Taken);
        }
        let expires = now + lease_secs;
        self.insert(
            mac,
            Entry {
                ip,
                expires,
                bound: true,
                hostname: hostname.clone(),
            },
        );
        Ok(DhcpLease {
            mac,
            ip,
            expires_unix: expires,
            client_hostname: hostname,
        })
    }

    /// The client gave the address back (RELEASE) or chose another server's offer.
    pub fn release(&mut self, mac: MacAddress) -> Option<Ipv4Addr> {
        let entry = self.by_mac.remove(&mac)?;
        self.by_ip.remove(&entry.ip);
        Some(entry.ip)
    }

    /// Drops an offer (not a bound lease) of `mac`.
    pub fn forget_offer(&mut self, mac: MacAddress) {
        if self.by_mac.get(&mac).is_some_and(|e| !e.bound) {
            self.release(mac);
        }
    }

    /// The client found `ip` in use (DECLINE): quarantine it.
    pub fn decline(&mut self, mac: MacAddress, ip: Ipv4Addr, now: u64) {
        if self.by_ip.get(&ip) == Some(&mac) {
            self.release(mac);
        }
        self.declined.insert(ip, now + DECLINE_QUARANTINE_SECS);
    }

    /// The bound, unexpired address of `mac`.
    pub fn bound_ip(&self, mac: MacAddress, now: u64) -> Option<Ipv4Addr> {
        self.by_mac
            .get(&mac)
            .filter(|e| e.bound && e.expires > now)
            .map(|e| e.ip)
    }

    fn is_free(&self, ip: Ipv4Addr, now: u64) -> bool {
        if is_declined(&self.declined, ip, now) {
            return false;
        }
        match self.by_ip.get(&ip) {
            None => true,
            Some(holder) => self.by_mac.get(holder).is_none_or(|e| e.expires <= now),
        }
    }

    fn next_free(&mut self, range: &DhcpRange, now: u64) -> Option<Ipv4Addr> {
        let start = u32::from(range.start);
        let len = range.len();
        let cursor = self.cursor.get(&range.start).copied().unwrap_or(0) % len;
        for step in 0..len {
            let offset = (cursor + step) % len;
            let ip = Ipv4Addr::from(start + offset);
            if self.is_free(ip, now) {
                self.cursor.insert(range.start, (offset + 1) % len);
                return Some(ip);
            }
        }
        None
    }

    fn insert(&mut self, mac: MacAddress, entry: Entry) {
        if let Some(old) = self.by_mac.remove(&mac) {
            self.by_ip.remove(&old.ip);
        }
        // An expired holder of the same address loses it.
        if let Some(previous) = self.by_ip.insert(entry.ip, mac)
            && previous != mac
        {
            self.by_mac.remove(&previous);
        }
        self.by_mac.insert(mac, entry);
    }
}

fn is_declined(declined: &HashMap<Ipv4Addr, u64>, ip: Ipv4Addr, now: u64) -> bool {
    declined.get(&ip).is_some_and(|until| *until > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range() -> DhcpRange {
        DhcpRange {
            start: "10.99.1.10".parse().unwrap(),
            end: "10.99.1.12".parse().unwrap(),
        }
    }

    fn mac(n: u8) -> MacAddress {
        MacAddress::new([2, 0, 0, 0, 0, n])
    }

    #[test]
    fn offers_distinct_addresses_until_the_range_is_full() {
        let mut t = LeaseTable::new();
        let r = range();
        let a = t.offer(mac(1), &r, None, 100, 60).unwrap();
        let b = t.offer(mac(2), &r, None, 100, 60).unwrap();
        let c = t.offer(mac(3), &r, None, 100, 60).unwrap();
        assert_ne!(a, b);
        assert_ne!(b, c);
        assert_eq!(t.offer(mac(4), &r, None, 100, 60), None, "range is full");
        // The same client gets the same offer again.
        assert_eq!(t.offer(mac(1), &r, None, 110, 60), Some(a));
        // Once offers expire the address is reused.
        assert!(t.offer(mac(4), &r, None, 1000, 60).is_some());
    }

    #[test]
    fn bind_refuses_taken_and_out_of_range_addresses() {
        let mut t = LeaseTable::new();
        let r = range();
        let a = t.offer(mac(1), &r, None, 100, 60).unwrap();
        t.bind(mac(1), a, &r, 100, 3600, None).unwrap();
        assert_eq!(t.bind(mac(2), a, &r, 100, 3600, None), Err(Refusal::Taken));
        assert_eq!(
            t.bind(mac(2), "10.99.1.99".parse().unwrap(), &r, 100, 3600, None),
            Err(Refusal::OutOfRange)
        );
        assert_eq!(t.bound_ip(mac(1), 200), Some(a));
        assert_eq!(t.release(mac(1)), Some(a));
        assert_eq!(t.bound_ip(mac(1), 200), None);
    }

    #[test]
    fn restored_leases_keep_their_address_and_declined_ones_are_skipped() {
        let mut t = LeaseTable::new();
        let r = range();
        t.restore(
            [DhcpLease {
                mac: mac(1),
                ip: "10.99.1.11".parse().unwrap(),
                expires_unix: 5000,
                client_hostname: None,
            }],
            100,
        );
        assert_eq!(
            t.offer(mac(1), &r, None, 100, 60),
            Some("10.99.1.11".parse().unwrap())
        );
        t.decline(mac(2), "10.99.1.10".parse().unwrap(), 100);
        let got = t.offer(mac(2), &r, None, 100, 60).unwrap();
        assert_eq!(got, "10.99.1.12".parse::<Ipv4Addr>().unwrap());
    }
}
