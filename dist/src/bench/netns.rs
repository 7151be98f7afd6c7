//! The benchmark's network: a "switch" namespace with a bridge, a host namespace and one
//! namespace per node, each on a veth into the bridge, addresses in 10.99.0.0/16, links
//! shaped with tbf (egress only, so each direction is shaped on its sending side).
//! Everything is deleted by name on drop, also after errors.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::process::Command;

pub const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);

#[derive(Debug, thiserror::Error)]
#[error("`{command}` failed: {reason}")]
pub struct NetError {
    pub command: String,
    pub reason: String,
}

fn run(args: &[&str]) -> Result<(), NetError> {
    checked(args, Command::new(args[0]).args(&args[1..]).output()).map(drop)
}

/// The stdout of a command that ran, or an error naming the command and why it failed.
fn checked(args: &[&str], out: std::io::Result<std::process::Output>) -> Result<Vec<u8>, NetError> {
    let failed = |reason: String| NetError {
        command: args.join(" "),
        reason,
    };
    let out = out.map_err(|e| failed(format!("{e} (is iproute2 installed and are we root?)")))?;
    if !out.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(out.stdout)
}

/// Wire bytes one node's switch port has carried: Ethernet frames, as the shapers count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortBytes {
    /// Sent by the switch to the node: the node's downloads.
    pub to_node: u64,
    /// Received by the switch from the node: the node's uploads.
    pub from_node: u64,
}

/// Node ports' counters from `ip -j -s link show` in the switch namespace, by node index
/// (port `n3` is node 3); the host's port and the bridge are left out.
fn parse_port_bytes(json: &[u8]) -> Result<BTreeMap<usize, PortBytes>, String> {
    #[derive(serde::Deserialize)]
    struct Link {
        ifname: String,
        stats64: Option<Stats>,
    }
    #[derive(serde::Deserialize)]
    struct Stats {
        rx: Counter,
        tx: Counter,
    }
    #[derive(serde::Deserialize)]
    struct Counter {
        bytes: u64,
    }
    let links: Vec<Link> = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    let mut ports = BTreeMap::new();
    for link in links {
        let Some(node) = link.ifname.strip_prefix('n').and_then(|i| i.parse().ok()) else {
            continue;
        };
        let stats = link
            .stats64
            .ok_or_else(|| format!("port {} has no counters", link.ifname))?;
        ports.insert(
            node,
            PortBytes {
                to_node: stats.tx.bytes,
                from_node: stats.rx.bytes,
            },
        );
    }
    Ok(ports)
}

/// Node `i`'s address: 10.99.1.1, 10.99.1.2, … (250 per /24).
pub fn node_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 99, 1 + (i / 250) as u8, 1 + (i % 250) as u8)
}

/// Linux keeps one ARP table for all network namespaces, and its limits (`gc_thresh1..3`,
/// by default 128/512/1024 entries) count every namespace's entries together. A swarm of N
/// nodes that all talk to each other needs about N² entries: at 64 nodes the table overflowed
/// at ~1024 ("neighbor table overflow!"), and every node started after that could resolve no
/// peer at all (connects failed with "No route to host" or timed out for a minute). Real
/// nodes each have their own kernel and table, so the benchmark raises the shared limits for
/// its run and puts the old values back afterwards.
struct NeighbourTableLimits {
    /// (sysctl path, the value before the run, the value set for the run).
    changed: Vec<(String, u64, u64)>,
}

impl NeighbourTableLimits {
    const KNOBS: [&str; 3] = ["gc_thresh1", "gc_thresh2", "gc_thresh3"];

    fn raise_for(nodes: usize) -> Result<Self, NetError> {
        let needed = ((nodes + 1) * (nodes + 1)) as u64;
        let mut limits = NeighbourTableLimits {
            changed: Vec::new(),
        };
        for knob in Self::KNOBS {
            let path = format!("/proc/sys/net/ipv4/neigh/default/{knob}");
            let failed = |reason: String| NetError {
                command: format!("raising {path}"),
                reason,
            };
            let before: u64 = std::fs::read_to_string(&path)
                .map_err(|e| failed(e.to_string()))?
                .trim()
                .parse()
                .map_err(|e| failed(format!("{e}")))?;
            let wanted = before + needed;
            std::fs::write(&path, wanted.to_string())
                .map_err(|e| failed(format!("{e} (are we root in the initial namespace?)")))?;
            limits.changed.push((path, before, wanted));
        }
        Ok(limits)
    }
}

impl Drop for NeighbourTableLimits {
    fn drop(&mut self) {
        for (path, before, wanted) in self.changed.drain(..).rev() {
            // Someone else changed it meanwhile: theirs now, leave it.
            let now = std::fs::read_to_string(&path).ok();
            if now.as_deref().map(str::trim) == Some(wanted.to_string().as_str()) {
                let _ = std::fs::write(&path, before.to_string());
            }
        }
    }
}

/// The namespaces of one benchmark run.
pub struct SwarmNet {
    prefix: String,
    created: Vec<String>,
    pub nodes: usize,
    /// Dropped after the namespaces (field order), which frees their entries first.
    _neighbours: NeighbourTableLimits,
}

impl SwarmNet {
    pub fn host_ns(&self) -> String {
        format!("{}-host", self.prefix)
    }

    fn switch_ns(&self) -> String {
        format!("{}-sw", self.prefix)
    }

    pub fn node_ns(&self, i: usize) -> String {
        format!("{}-n{i}", self.prefix)
    }

    /// What every node's switch port has carried so far, by node index. Async: it runs while
    /// the host side serves the nodes on the same runtime.
    pub async fn port_bytes(&self) -> Result<BTreeMap<usize, PortBytes>, NetError> {
        let sw = self.switch_ns();
        let args = ["ip", "-n", sw.as_str(), "-j", "-s", "link", "show"];
        let out = tokio::process::Command::new(args[0])
            .args(&args[1..])
            .output()
            .await;
        parse_port_bytes(&checked(&args, out)?).map_err(|reason| NetError {
            command: args.join(" "),
            reason,
        })
    }

    fn add_ns(&mut self, name: &str) -> Result<(), NetError> {
        run(&["ip", "netns", "add", name])?;
        self.created.push(name.to_string());
        run(&["ip", "-n", name, "link", "set", "lo", "up"])
    }

    /// Creates the switch, the host and `nodes` node namespaces, links shaped at `mbit`.
    /// `shape_node_upload` also shapes what nodes send (a symmetric link, like real NICs).
    pub fn create(
        prefix: &str,
        nodes: usize,
        mbit: u32,
        shape_node_upload: bool,
    ) -> Result<Self, NetError> {
        let mut net = SwarmNet {
            prefix: prefix.to_string(),
            created: Vec::new(),
            nodes,
            _neighbours: NeighbourTableLimits::raise_for(nodes)?,
        };
        let sw = net.switch_ns();
        let host = net.host_ns();
        net.add_ns(&sw)?;
        // A real switch does not run the host's firewall on the frames it forwards; with the
        // br_netfilter module loaded (Docker loads it) Linux does, per frame, which at 64
        // nodes costs a good part of two cores. The setting is per namespace, so this
        // touches only the benchmark's switch; `-e`: without the module there is no key.
        run(&[
            "ip",
            "netns",
            "exec",
            &sw,
            "sysctl",
            "-q",
            "-e",
            "-w",
            "net.bridge.bridge-nf-call-iptables=0",
            "net.bridge.bridge-nf-call-ip6tables=0",
            "net.bridge.bridge-nf-call-arptables=0",
        ])?;
        run(&["ip", "-n", &sw, "link", "add", "br0", "type", "bridge"])?;
        run(&["ip", "-n", &sw, "link", "set", "br0", "up"])?;
        net.add_ns(&host)?;
        let rate = format!("{mbit}mbit");
        // Burst must hold at least one timer tick of data at this rate, and a few packets.
        let burst = format!("{}kb", (mbit / 8).max(16));
        // The queue holds 50 ms at this rate but at least 256 KB, like a switch port's buffer:
        // at a few Mbit/s, 50 ms is a handful of packets and a dozen peers' TCP flows into one
        // node would mostly measure loss recovery instead of the link.
        let limit = format!("{}kb", (u64::from(mbit) * 50 / 8).max(256));
        let tbf = |ns: &str, dev: &str| -> Result<(), NetError> {
            run(&[
                "tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate", &rate, "burst",
                &burst, "limit", &limit,
            ])
        };
        let attach = |ns: &str, bridge_port: &str, ip: Ipv4Addr| -> Result<(), NetError> {
            run(&[
                "ip",
                "-n",
                &sw,
                "link",
                "add",
                bridge_port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns,
            ])?;
            run(&[
                "ip",
                "-n",
                &sw,
                "link",
                "set",
                bridge_port,
                "master",
                "br0",
                "up",
            ])?;
            run(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{ip}/16"),
                "dev",
                "eth0",
            ])?;
            run(&["ip", "-n", ns, "link", "set", "eth0", "up"])
        };
        attach(&host, "host", HOST_IP)?;
        tbf(&host, "eth0")?; // the host's upload
        for i in 0..nodes {
            let ns = net.node_ns(i);
            net.add_ns(&ns)?;
            let port = format!("n{i}");
            attach(&ns, &port, node_ip(i))?;
            tbf(&sw, &port)?; // the node's download
            if shape_node_upload {
                tbf(&ns, "eth0")?;
            }
        }
        Ok(net)
    }
}

impl Drop for SwarmNet {
    fn drop(&mut self) {
        // Deleting a namespace deletes its veths (and their peers in the switch).
        for ns in self.created.drain(..).rev() {
            let _ = run(&["ip", "netns", "del", &ns]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_counters_are_read_per_node_and_other_links_are_left_out() {
        let json = br#"[
            {"ifindex":1,"ifname":"lo","stats64":{"rx":{"bytes":0},"tx":{"bytes":0}}},
            {"ifindex":2,"ifname":"br0","stats64":{"rx":{"bytes":9},"tx":{"bytes":9}}},
            {"ifindex":3,"ifname":"host","stats64":{"rx":{"bytes":500},"tx":{"bytes":7}}},
            {"ifindex":4,"ifname":"n0","link_netnsid":1,
             "stats64":{"rx":{"bytes":100,"packets":2},"tx":{"bytes":4000,"packets":3}}},
            {"ifindex":5,"ifname":"n12","stats64":{"rx":{"bytes":1},"tx":{"bytes":2}}}
        ]"#;
        let ports = parse_port_bytes(json).unwrap();
        assert_eq!(ports.len(), 2, "{ports:?}");
        assert_eq!(
            ports[&0],
            PortBytes {
                to_node: 4000,
                from_node: 100
            }
        );
        assert_eq!(
            ports[&12],
            PortBytes {
                to_node: 2,
                from_node: 1
            }
        );
    }

    #[test]
    fn a_node_port_without_counters_or_bad_json_is_an_error() {
        let err = parse_port_bytes(br#"[{"ifname":"n3"}]"#).unwrap_err();
        assert!(err.contains("n3"), "{err}");
        assert!(parse_port_bytes(b"not json").is_err());
    }
}
