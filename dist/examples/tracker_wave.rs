//! What a join wave costs the tracker: N nodes join one striped swarm, and after every join each
//! node already in it asks for its role again, as their `/stripes` long polls do when woken.
//! `cargo run --release -p luna-dist --example tracker_wave -- 64 300 1000`

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use luna_dist::{InfoHash, Tracker, TrackerSettings};

fn node(i: usize) -> SocketAddr {
    let ip = Ipv4Addr::new(10, 99, 1 + (i / 250) as u8, 1 + (i % 250) as u8);
    SocketAddr::new(IpAddr::V4(ip), 6881)
}

fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let sizes = if sizes.is_empty() {
        vec![64, 300, 1000]
    } else {
        sizes
    };
    println!(
        "{:>6} {:>12} {:>10} {:>14}",
        "nodes", "role reads", "seconds", "us per read"
    );
    for n in sizes {
        let hash = InfoHash([1; 20]);
        let tracker = Tracker::new(TrackerSettings::default());
        tracker.add_torrent(hash, vec!["10.99.0.1:6881".parse()?]);
        let started = Instant::now();
        let mut reads = 0u64;
        for i in 0..n {
            tracker.stripe_role(&hash, node(i))?;
            for j in 0..=i {
                tracker.stripe_role(&hash, node(j))?;
                reads += 1;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{n:>6} {reads:>12} {secs:>10.2} {:>14.2}",
            secs * 1e6 / reads as f64
        );
    }
    Ok(())
}
