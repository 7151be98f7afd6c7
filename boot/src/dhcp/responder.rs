//! DHCP protocol decisions: given a decoded request and the interface it arrived on, what (if
//! anything) to answer. No sockets here, so every rule is unit-testable.

use dhcproto::v4::{DhcpOption, HType, Message, MessageType, Opcode, OptionCode};
use luna_proto::boot::{DhcpLease, MacAddress};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};

use super::DhcpError;
use super::config::{DhcpConfig, DhcpMode, DhcpSubnet};
use super::directory::{BootDirectory, LeaseStore};
use super::leases::LeaseTable;
use super::pxe::{BootClient, boot_file};

/// Which socket a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// Port 67 (broadcasts and relays).
    Dhcp,
    /// Port 4011, the PXE boot-server port of proxyDHCP.
    Proxy,
}

/// The interface a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    pub server_ip: Ipv4Addr,
    pub port: Port,
}

/// Where a reply goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// 255.255.255.255 on the arrival interface (client has no address yet).
    Broadcast,
    /// Unicast to the client's configured address.
    Client(Ipv4Addr),
    /// Back to the relay agent (giaddr) on the server port.
    Relay(Ipv4Addr),
    /// Back to the packet's source address and port.
    Source,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Reply(Box<Message>, Destination),
    Ignored(&'static str),
}

pub struct Responder {
    config: DhcpConfig,
    directory: Arc<dyn BootDirectory>,
    store: Arc<dyn LeaseStore>,
    table: Mutex<LeaseTable>,
}

impl Responder {
    /// Validates the configuration and loads persisted leases.
    pub fn new(
        config: DhcpConfig,
        directory: Arc<dyn BootDirectory>,
        store: Arc<dyn LeaseStore>,
        now: u64,
    ) -> Result<Self, DhcpError> {
        config.validate()?;
        let mut table = LeaseTable::new();
        table.restore(store.load()?, now);
        Ok(Self {
            config,
            directory,
            store,
            table: Mutex::new(table),
        })
    }

    pub fn config(&self) -> &DhcpConfig {
        &self.config
    }

    /// Unexpired dynamic leases and offers.
    pub fn active_leases(&self, now: u64) -> usize {
        self.table().active(now)
    }

    pub fn handle(&self, req: &Message, arrival: Arrival, now: u64) -> Outcome {
        if req.opcode() != Opcode::BootRequest {
            return Outcome::Ignored("not a BOOTREQUEST");
        }
        if req.htype() != HType::Eth || req.hlen() != 6 {
            return Outcome::Ignored("not an Ethernet client");
        }
        let Some(mac) = MacAddress::from_slice(req.chaddr()) else {
            return Outcome::Ignored("short chaddr");
        };
        let Some(kind) = req.opts().msg_type() else {
            return Outcome::Ignored("no DHCP message type");
        };
        match self.config.mode {
            DhcpMode::Full => self.handle_full(req, mac, kind, arrival, now),
            DhcpMode::Proxy => self.handle_proxy(req, mac, kind, arrival),
        }
    }

    fn handle_full(
        &self,
        req: &Message,
        mac: MacAddress,
        kind: MessageType,
        arrival: Arrival,
        now: u64,
    ) -> Outcome {
        if arrival.port == Port::Proxy {
            return Outcome::Ignored("port 4011 is only served in proxy mode");
        }
        let link = if req.giaddr().is_unspecified() {
            arrival.server_ip
        } else {
            req.giaddr()
        };
        let Some(subnet) = self.config.subnet_of(link) else {
            return Outcome::Ignored("no subnet configured for this link");
        };
        match kind {
            MessageType::Discover => self.discover(req, mac, subnet, arrival, now),
            MessageType::Request => self.request(req, mac, subnet, arrival, now),
            MessageType::Inform => {
                let reply = self.reply(
                    req,
                    MessageType::Ack,
                    Ipv4Addr::UNSPECIFIED,
                    subnet,
                    arrival,
                    None,
                );
                Outcome::Reply(Box::new(reply), destination(req, MessageType::Ack))
            }
            MessageType::Release => {
                if self.table().release(mac).is_some() {
                    self.persist_removal(mac);
                }
                Outcome::Ignored("release processed")
            }
            MessageType::Decline => {
                if let Some(DhcpOption::RequestedIpAddress(ip)) =
                    req.opts().get(OptionCode::RequestedIpAddress)
                {
                    self.table().decline(mac, *ip, now);
                    self.persist_removal(mac);
                }
                Outcome::Ignored("decline processed")
            }
            _ => Outcome::Ignored("message type not handled by a server"),
        }
    }

    fn discover(
        &self,
        req: &Message,
        mac: MacAddress,
        subnet: &DhcpSubnet,
        arrival: Arrival,
        now: u64,
    ) -> Outcome {
        let client = BootClient::from_message(req);
        let (ip, fixed) = match self.directory.fixed_lease(mac) {
            Some(fixed) if subnet.network.contains(&fixed.ip) => (fixed.ip, Some(fixed)),
            Some(_) => {
                return Outcome::Ignored("known machine asked on a link its address is not on");
            }
            None => {
                self.directory.unknown_client(mac, client.arch);
                let Some(range) = subnet.range else {
                    return Outcome::Ignored("unknown machine and no dynamic range on this subnet");
                };
                let requested = requested_ip(req);
                let hold = u64::from(self.config.offer_hold_secs);
                match self.table().offer(mac, &range, requested, now, hold) {
                    Some(ip) => (ip, None),
                    None => return Outcome::Ignored("dynamic range exhausted"),
                }
            }
        };
        let reply = self.reply(req, MessageType::Offer, ip, subnet, arrival, fixed.as_ref());
        Outcome::Reply(Box::new(reply), destination(req, MessageType::Offer))
    }

    fn request(
        &self,
        req: &Message,
        mac: MacAddress,
        subnet: &DhcpSubnet,
        arrival: Arrival,
        now: u64,
    ) -> Outcome {
        let server_id = match req.opts().get(OptionCode::ServerIdentifier) {
            Some(DhcpOption::ServerIdentifier(id)) => Some(*id),
            _ => None,
        };
        if server_id.is_some_and(|id| id != arrival.server_ip) {
            self.table().forget_offer(mac);
            return Outcome::Ignored("client chose another server's offer");
        }
        let Some(wanted) = requested_ip(req).or_else(|| nonzero(req.ciaddr())) else {
            return Outcome::Ignored("request names no address");
        };
        // We may refuse only what is ours to refuse: our own offer, or an address on our subnet.
        let authoritative = server_id.is_some() || subnet.network.contains(&wanted);
        let nak = |why: &'static str| {
            if authoritative {
                let reply = self.nak(req, arrival);
                Outcome::Reply(Box::new(reply), destination(req, MessageType::Nak))
            } else {
                Outcome::Ignored(why)
            }
        };
        if let Some(fixed) = self.directory.fixed_lease(mac) {
            if !subnet.network.contains(&fixed.ip) {
                return Outcome::Ignored("known machine asked on a link its address is not on");
            }
            if wanted != fixed.ip {
                return nak("known machine asked for an address that is not its own");
            }
            let reply = self.reply(
                req,
                MessageType::Ack,
                fixed.ip,
                subnet,
                arrival,
                Some(&fixed),
            );
            return Outcome::Reply(Box::new(reply), destination(req, MessageType::Ack));
        }
        let Some(range) = subnet.range else {
            return nak("unknown machine and no dynamic range on this subnet");
        };
        let hostname = match req.opts().get(OptionCode::Hostname) {
            Some(DhcpOption::Hostname(h)) => Some(h.clone()),
            _ => None,
        };
        let lease_secs = u64::from(self.config.lease_secs);
        let bound = self
            .table()
            .bind(mac, wanted, &range, now, lease_secs, hostname);
        match bound {
            Ok(lease) => {
                self.persist(&lease);
                let reply = self.reply(req, MessageType::Ack, wanted, subnet, arrival, None);
                Outcome::Reply(Box::new(reply), destination(req, MessageType::Ack))
            }
            Err(_) => nak("requested address is not available"),
        }
    }

    fn handle_proxy(
        &self,
        req: &Message,
        mac: MacAddress,
        kind: MessageType,
        arrival: Arrival,
    ) -> Outcome {
        let client = BootClient::from_message(req);
        if !client.pxe {
            return Outcome::Ignored("proxy mode answers PXE clients only");
        }
        let (answer, dest) = match (kind, arrival.port) {
            (MessageType::Discover, Port::Dhcp) => (MessageType::Offer, Destination::Broadcast),
            (MessageType::Request | MessageType::Inform, Port::Proxy) => {
                (MessageType::Ack, Destination::Source)
            }
            _ => return Outcome::Ignored("proxy mode: not a PXE discover or boot-server request"),
        };
        let fixed = self.directory.fixed_lease(mac);
        let url = self.config.ipxe_url_for(arrival.server_ip);
        let Some(file) = boot_file(
            &client,
            &self.config.boot_files,
            fixed.as_ref().and_then(|f| f.boot_file.as_deref()),
            &url,
        ) else {
            return Outcome::Ignored("no boot file for this client's firmware");
        };
        let mut reply = base_reply(req, Ipv4Addr::UNSPECIFIED, arrival.server_ip);
        if arrival.port == Port::Proxy {
            reply.set_ciaddr(req.ciaddr());
        }
        let opts = reply.opts_mut();
        opts.insert(DhcpOption::MessageType(answer));
        opts.insert(DhcpOption::ServerIdentifier(arrival.server_ip));
        opts.insert(DhcpOption::ClassIdentifier(b"PXEClient".to_vec()));
        // PXE_DISCOVERY_CONTROL = 8: boot the file named here, skip boot-server discovery.
        opts.insert(DhcpOption::VendorExtensions(vec![6, 1, 8, 255]));
        if let Some(DhcpOption::ClientMachineIdentifier(guid)) =
            req.opts().get(OptionCode::ClientMachineIdentifier)
        {
            opts.insert(DhcpOption::ClientMachineIdentifier(guid.clone()));
        }
        set_boot_file(&mut reply, &file);
        Outcome::Reply(Box::new(reply), dest)
    }

    fn reply(
        &self,
        req: &Message,
        kind: MessageType,
        ip: Ipv4Addr,
        subnet: &DhcpSubnet,
        arrival: Arrival,
        fixed: Option<&super::directory::FixedLease>,
    ) -> Message {
        let mut reply = base_reply(req, ip, arrival.server_ip);
        if kind == MessageType::Ack && ip.is_unspecified() {
            reply.set_ciaddr(req.ciaddr());
        }
        let lease = self.config.lease_secs;
        let opts = reply.opts_mut();
        opts.insert(DhcpOption::MessageType(kind));
        opts.insert(DhcpOption::ServerIdentifier(arrival.server_ip));
        if !ip.is_unspecified() {
            opts.insert(DhcpOption::AddressLeaseTime(lease));
            opts.insert(DhcpOption::Renewal(lease / 2));
            opts.insert(DhcpOption::Rebinding(lease / 8 * 7));
        }
        opts.insert(DhcpOption::SubnetMask(subnet.network.netmask()));
        opts.insert(DhcpOption::BroadcastAddr(subnet.network.broadcast()));
        if !subnet.routers.is_empty() {
            opts.insert(DhcpOption::Router(subnet.routers.clone()));
        }
        if !subnet.dns_servers.is_empty() {
            opts.insert(DhcpOption::DomainNameServer(subnet.dns_servers.clone()));
        }
        if let Some(domain) = &subnet.domain {
            opts.insert(DhcpOption::DomainName(domain.clone()));
        }
        if let Some(name) = fixed.and_then(|f| f.hostname.as_ref()) {
            opts.insert(DhcpOption::Hostname(name.clone()));
        }
        let client = BootClient::from_message(req);
        let url = self.config.ipxe_url_for(arrival.server_ip);
        if let Some(file) = boot_file(
            &client,
            &self.config.boot_files,
            fixed.and_then(|f| f.boot_file.as_deref()),
            &url,
        ) {
            set_boot_file(&mut reply, &file);
        }
        reply
    }

    fn nak(&self, req: &Message, arrival: Arrival) -> Message {
        let mut reply = base_reply(req, Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED);
        let opts = reply.opts_mut();
        opts.insert(DhcpOption::MessageType(MessageType::Nak));
        opts.insert(DhcpOption::ServerIdentifier(arrival.server_ip));
        reply
    }

    fn persist(&self, lease: &DhcpLease) {
        if let Err(e) = self.store.save(lease) {
            tracing::warn!(mac = %lease.mac, ip = %lease.ip, error = %e, "could not persist DHCP lease");
        }
    }

    fn persist_removal(&self, mac: MacAddress) {
        if let Err(e) = self.store.remove(mac) {
            tracing::warn!(%mac, error = %e, "could not remove persisted DHCP lease");
        }
    }

    fn table(&self) -> MutexGuard<'_, LeaseTable> {
        // The table stays consistent across a panic in another thread: keep serving.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn base_reply(req: &Message, yiaddr: Ipv4Addr, siaddr: Ipv4Addr) -> Message {
    let z = Ipv4Addr::UNSPECIFIED;
    let mut reply = Message::new_with_id(req.xid(), z, yiaddr, siaddr, req.giaddr(), req.chaddr());
    reply
        .set_opcode(Opcode::BootReply)
        .set_htype(HType::Eth)
        .set_flags(req.flags());
    reply
}

/// The boot file goes in the BOOTP `file` field (what PXE ROMs read) and, when it does not fit
/// there, in option 67 only.
fn set_boot_file(reply: &mut Message, file: &str) {
    if file.len() < 128 {
        reply.set_fname_str(file);
    }
    reply
        .opts_mut()
        .insert(DhcpOption::BootfileName(file.as_bytes().to_vec()));
}

fn requested_ip(req: &Message) -> Option<Ipv4Addr> {
    match req.opts().get(OptionCode::RequestedIpAddress) {
        Some(DhcpOption::RequestedIpAddress(ip)) => nonzero(*ip),
        _ => None,
    }
}

fn nonzero(ip: Ipv4Addr) -> Option<Ipv4Addr> {
    (!ip.is_unspecified()).then_some(ip)
}

/// RFC 2131 4.1: relay first, then a configured client, else broadcast.
fn destination(req: &Message, kind: MessageType) -> Destination {
    if !req.giaddr().is_unspecified() {
        Destination::Relay(req.giaddr())
    } else if kind != MessageType::Nak && !req.ciaddr().is_unspecified() {
        Destination::Client(req.ciaddr())
    } else {
        Destination::Broadcast
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::config::{DhcpListen, DhcpRange};
    use crate::dhcp::directory::{FixedLease, MemoryLeaseStore, StaticDirectory};
    use dhcproto::{Encodable, v4::Architecture};

    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 99, 1, 1);
    const KNOWN: [u8; 6] = [0x52, 0x54, 0, 0xaa, 0, 1];
    const UNKNOWN: [u8; 6] = [0x52, 0x54, 0, 0xbb, 0, 2];

    fn config(mode: DhcpMode) -> DhcpConfig {
        DhcpConfig {
            mode,
            listen: vec![DhcpListen {
                interface: "s0".into(),
                server_ip: None,
            }],
            subnets: vec![DhcpSubnet {
                network: "10.99.1.0/24".parse().unwrap(),
                range: Some(DhcpRange {
                    start: "10.99.1.200".parse().unwrap(),
                    end: "10.99.1.201".parse().unwrap(),
                }),
                routers: vec![],
                dns_servers: vec![],
                domain: None,
            }],
            ..DhcpConfig::default()
        }
    }

    fn responder(mode: DhcpMode) -> (Responder, Arc<MemoryLeaseStore>) {
        let dir = StaticDirectory::new([(
            MacAddress::new(KNOWN),
            FixedLease {
                ip: "10.99.1.21".parse().unwrap(),
                hostname: Some("node001".into()),
                boot_file: Some("snponly.efi".into()),
            },
        )]);
        let store = Arc::new(MemoryLeaseStore::new());
        let r = Responder::new(config(mode), Arc::new(dir), store.clone(), 1000).unwrap();
        (r, store)
    }

    fn msg(mac: [u8; 6], kind: MessageType, extra: Vec<DhcpOption>) -> Message {
        let z = Ipv4Addr::UNSPECIFIED;
        let mut m = Message::new_with_id(42, z, z, z, z, &mac);
        m.opts_mut().insert(DhcpOption::MessageType(kind));
        for o in extra {
            m.opts_mut().insert(o);
        }
        m
    }

    const ON_67: Arrival = Arrival {
        server_ip: SERVER,
        port: Port::Dhcp,
    };

    fn reply(o: Outcome) -> (Message, Destination) {
        match o {
            Outcome::Reply(m, d) => (*m, d),
            Outcome::Ignored(why) => panic!("ignored: {why}"),
        }
    }

    #[test]
    fn known_machine_is_offered_and_acked_its_fixed_address() {
        let (r, store) = responder(DhcpMode::Full);
        let efi = DhcpOption::ClientSystemArchitecture(Architecture::from(7));
        let (offer, dest) = reply(r.handle(
            &msg(KNOWN, MessageType::Discover, vec![efi.clone()]),
            ON_67,
            1000,
        ));
        assert_eq!(dest, Destination::Broadcast);
        assert_eq!(offer.yiaddr(), "10.99.1.21".parse::<Ipv4Addr>().unwrap());
        assert_eq!(offer.siaddr(), SERVER);
        assert_eq!(offer.xid(), 42);
        assert_eq!(offer.fname_str().unwrap().unwrap(), "snponly.efi");
        let req = msg(
            KNOWN,
            MessageType::Request,
            vec![
                efi,
                DhcpOption::ServerIdentifier(SERVER),
                DhcpOption::RequestedIpAddress("10.99.1.21".parse().unwrap()),
            ],
        );
        let (ack, _) = reply(r.handle(&req, ON_67, 1000));
        assert_eq!(ack.opts().msg_type(), Some(MessageType::Ack));
        assert!(store.snapshot().is_empty());
        let wrong = msg(
            KNOWN,
            MessageType::Request,
            vec![DhcpOption::RequestedIpAddress(
                "10.99.1.99".parse().unwrap(),
            )],
        );
        let (nak, dest) = reply(r.handle(&wrong, ON_67, 1000));
        assert_eq!(nak.opts().msg_type(), Some(MessageType::Nak));
        assert_eq!(dest, Destination::Broadcast);
    }

    #[test]
    fn relayed_requests_use_the_relay_subnet_and_go_back_to_the_relay() {
        let mut c = config(DhcpMode::Full);
        c.subnets.push(DhcpSubnet {
            network: "10.99.7.0/24".parse().unwrap(),
            range: Some(DhcpRange {
                start: "10.99.7.100".parse().unwrap(),
                end: "10.99.7.110".parse().unwrap(),
            }),
            routers: vec!["10.99.7.254".parse().unwrap()],
            dns_servers: vec![],
            domain: None,
        });
        let r = Responder::new(
            c,
            Arc::new(StaticDirectory::default()),
            Arc::new(MemoryLeaseStore::new()),
            1000,
        )
        .unwrap();
        let mut m = msg(UNKNOWN, MessageType::Discover, vec![]);
        m.set_giaddr(Ipv4Addr::new(10, 99, 7, 254));
        let (offer, dest) = reply(r.handle(&m, ON_67, 1000));
        assert_eq!(dest, Destination::Relay(Ipv4Addr::new(10, 99, 7, 254)));
        assert!(
            offer.yiaddr().octets().starts_with(&[10, 99, 7]),
            "{}",
            offer.yiaddr()
        );
        assert_eq!(offer.giaddr(), Ipv4Addr::new(10, 99, 7, 254));
    }

    #[test]
    fn release_returns_the_address_and_forgets_the_stored_lease() {
        let (r, store) = responder(DhcpMode::Full);
        let (offer, _) = reply(r.handle(&msg(UNKNOWN, MessageType::Discover, vec![]), ON_67, 1000));
        let req = msg(
            UNKNOWN,
            MessageType::Request,
            vec![
                DhcpOption::ServerIdentifier(SERVER),
                DhcpOption::RequestedIpAddress(offer.yiaddr()),
            ],
        );
        reply(r.handle(&req, ON_67, 1000));
        assert_eq!(store.snapshot().len(), 1);
        let mut release = msg(
            UNKNOWN,
            MessageType::Release,
            vec![DhcpOption::ServerIdentifier(SERVER)],
        );
        release.set_ciaddr(offer.yiaddr());
        assert!(matches!(
            r.handle(&release, ON_67, 1001),
            Outcome::Ignored(_)
        ));
        assert!(store.snapshot().is_empty());
        assert_eq!(r.active_leases(1001), 0);
    }

    #[test]
    fn leases_survive_a_restart_through_the_store() {
        let (r, store) = responder(DhcpMode::Full);
        let (offer, _) = reply(r.handle(&msg(UNKNOWN, MessageType::Discover, vec![]), ON_67, 1000));
        let req = msg(
            UNKNOWN,
            MessageType::Request,
            vec![DhcpOption::RequestedIpAddress(offer.yiaddr())],
        );
        reply(r.handle(&req, ON_67, 1000));
        let restarted = Responder::new(
            config(DhcpMode::Full),
            Arc::new(StaticDirectory::default()),
            store,
            1100,
        )
        .unwrap();
        // Another machine cannot take the address; the owner gets it again.
        let other = [0x52, 0x54, 0, 0xbb, 0, 3];
        let (o2, _) =
            reply(restarted.handle(&msg(other, MessageType::Discover, vec![]), ON_67, 1100));
        assert_ne!(o2.yiaddr(), offer.yiaddr());
        let (o1, _) =
            reply(restarted.handle(&msg(UNKNOWN, MessageType::Discover, vec![]), ON_67, 1100));
        assert_eq!(o1.yiaddr(), offer.yiaddr());
    }

    #[test]
    fn choosing_another_server_frees_the_offer() {
        let (r, _) = responder(DhcpMode::Full);
        let (offer, _) = reply(r.handle(&msg(UNKNOWN, MessageType::Discover, vec![]), ON_67, 1000));
        assert!(r.active_leases(1000) == 1);
        let other = msg(
            UNKNOWN,
            MessageType::Request,
            vec![
                DhcpOption::ServerIdentifier("10.99.1.254".parse().unwrap()),
                DhcpOption::RequestedIpAddress(offer.yiaddr()),
            ],
        );
        assert!(matches!(r.handle(&other, ON_67, 1000), Outcome::Ignored(_)));
        assert_eq!(r.active_leases(1000), 0);
    }

    #[test]
    fn exhausted_range_offers_nothing() {
        let (r, _) = responder(DhcpMode::Full);
        for n in 0..2u8 {
            let mac = [2, 0, 0, 0, 0, n];
            reply(r.handle(&msg(mac, MessageType::Discover, vec![]), ON_67, 1000));
        }
        let third = r.handle(
            &msg([2, 0, 0, 0, 0, 9], MessageType::Discover, vec![]),
            ON_67,
            1000,
        );
        assert_eq!(third, Outcome::Ignored("dynamic range exhausted"));
    }

    #[test]
    fn proxy_mode_sends_boot_options_without_an_address() {
        let (r, _) = responder(DhcpMode::Proxy);
        let pxe = vec![
            DhcpOption::ClassIdentifier(b"PXEClient:Arch:00000:UNDI:002001".to_vec()),
            DhcpOption::ClientMachineIdentifier(vec![0; 17]),
        ];
        let (offer, dest) = reply(r.handle(
            &msg(UNKNOWN, MessageType::Discover, pxe.clone()),
            ON_67,
            1000,
        ));
        assert_eq!(dest, Destination::Broadcast);
        assert!(offer.yiaddr().is_unspecified());
        assert_eq!(offer.siaddr(), SERVER);
        assert_eq!(offer.fname_str().unwrap().unwrap(), "undionly.kpxe");
        assert!(matches!(
            offer.opts().get(OptionCode::ClassIdentifier),
            Some(DhcpOption::ClassIdentifier(v)) if v == b"PXEClient"
        ));
        assert!(
            offer
                .opts()
                .get(OptionCode::ClientMachineIdentifier)
                .is_some()
        );
        let on_4011 = Arrival {
            server_ip: SERVER,
            port: Port::Proxy,
        };
        let (ack, dest) = reply(r.handle(&msg(UNKNOWN, MessageType::Request, pxe), on_4011, 1000));
        assert_eq!(ack.opts().msg_type(), Some(MessageType::Ack));
        assert_eq!(dest, Destination::Source);
        let plain = r.handle(&msg(UNKNOWN, MessageType::Discover, vec![]), ON_67, 1000);
        assert!(matches!(plain, Outcome::Ignored(_)));
    }

    /// Random and mutated packets: whatever decodes must be handled without a panic.
    #[test]
    fn fuzzed_packets_never_panic() {
        let (full, _) = responder(DhcpMode::Full);
        let (proxy, _) = responder(DhcpMode::Proxy);
        let seeds: Vec<Vec<u8>> = [
            msg(
                KNOWN,
                MessageType::Discover,
                vec![DhcpOption::ClassIdentifier(
                    b"PXEClient:Arch:00007".to_vec(),
                )],
            ),
            msg(
                UNKNOWN,
                MessageType::Request,
                vec![DhcpOption::RequestedIpAddress(SERVER)],
            ),
            msg(
                UNKNOWN,
                MessageType::Decline,
                vec![DhcpOption::UserClass(b"iPXE".to_vec())],
            ),
        ]
        .iter()
        .map(|m| m.to_vec().unwrap())
        .collect();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut decoded = 0;
        // LUNA_FUZZ_SECS runs the loop for that long instead (e.g. 60 for a one-minute fuzz).
        let until = std::env::var("LUNA_FUZZ_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(|secs| std::time::Instant::now() + std::time::Duration::from_secs(secs));
        let mut i = 0usize;
        while match until {
            Some(t) => std::time::Instant::now() < t,
            None => i < 100_000,
        } {
            i += 1;
            let mut p = seeds[i % seeds.len()].clone();
            for _ in 0..(next() % 8) {
                let at = (next() as usize) % p.len();
                p[at] = next() as u8;
            }
            if next() % 4 == 0 {
                let keep = (next() as usize) % p.len();
                p.truncate(keep);
            }
            if let Some(m) = crate::dhcp::packet::decode(&p) {
                decoded += 1;
                let _ = full.handle(&m, ON_67, 1000 + i as u64);
                let _ = proxy.handle(&m, ON_67, 1000);
                if let Outcome::Reply(reply, _) = full.handle(&m, ON_67, 1000) {
                    reply.to_vec().expect("our replies encode");
                }
            }
        }
        eprintln!("fuzz: {i} mutated packets, {decoded} decoded and handled");
        assert!(
            decoded > 1000,
            "mutations should still decode often ({decoded})"
        );
    }

    /// Cost of the decision logic alone (decode + handle + encode), without sockets:
    /// `cargo test --release -p luna-boot --lib exchange_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "measurement"]
    fn exchange_cost() {
        let mut config = config(DhcpMode::Full);
        config.subnets[0].network = "10.99.0.0/16".parse().unwrap();
        config.subnets[0].range = Some(DhcpRange {
            start: "10.99.16.1".parse().unwrap(),
            end: "10.99.255.254".parse().unwrap(),
        });
        let r = Responder::new(
            config,
            Arc::new(StaticDirectory::default()),
            Arc::new(MemoryLeaseStore::new()),
            1000,
        )
        .unwrap();
        let n = 50_000u32;
        let start = std::time::Instant::now();
        for i in 0..n {
            let b = i.to_be_bytes();
            let mac = [2, 0, b[0], b[1], b[2], b[3]];
            let discover = msg(mac, MessageType::Discover, vec![]).to_vec().unwrap();
            let m = crate::dhcp::packet::decode(&discover).unwrap();
            let (offer, _) = reply(r.handle(&m, ON_67, 1000));
            let _ = offer.to_vec().unwrap();
            let request = msg(
                mac,
                MessageType::Request,
                vec![
                    DhcpOption::ServerIdentifier(SERVER),
                    DhcpOption::RequestedIpAddress(offer.yiaddr()),
                ],
            )
            .to_vec()
            .unwrap();
            let m = crate::dhcp::packet::decode(&request).unwrap();
            let (ack, _) = reply(r.handle(&m, ON_67, 1000));
            assert_eq!(ack.opts().msg_type(), Some(MessageType::Ack));
            let _ = ack.to_vec().unwrap();
        }
        let per = start.elapsed() / n;
        println!(
            "DORA decision cost: {per:?} per exchange ({:.0}/s on one core)",
            1.0 / per.as_secs_f64()
        );
    }
}
