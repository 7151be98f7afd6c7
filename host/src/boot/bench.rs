//! `luna bench boot`: a boot storm against the real daemon. N known nodes (each with a MAC) are
//! created in a fresh store, the daemon's whole HTTP app (`serve::app`, tracker included)
//! listens on loopback in this process, and N
//! simulated nodes each fetch `/boot/ipxe`, their plan and a tracker announce, `concurrency` at a
//! time over keep-alive connections. Reports requests/s and latency percentiles per route.

use super::cache;
use crate::service::{ClusterChange, GroupAdd, Luna, NetworkAdd, NodeAdd, OsImageAdd};
use crate::store::Store;
use anyhow::{Result, anyhow, bail};
use comfy_table::Table;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const GOAL_RPS: f64 = 20_000.0;
const BENCH_INFO_HASH: [u8; 20] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
];
const GOAL_P99_MS: f64 = 50.0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Ipxe,
    Plan,
    Announce,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::Ipxe => "/boot/ipxe",
            Route::Plan => "/api/v1/nodes/{mac}/plan",
            Route::Announce => "/announce",
        }
    }
}

fn mac_of(i: usize) -> String {
    format!(
        "52:54:{:02x}:{:02x}:{:02x}:{:02x}",
        (i >> 24) & 0xff,
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        i & 0xff
    )
}

/// Who generates the load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LoadClient {
    /// `wrk` if installed (a separate process: the server's cores measure the server), else the
    /// built-in client.
    Auto,
    Wrk,
    /// reqwest in this process: it shares the daemon's cores, so it measures less than wrk.
    Builtin,
}

/// `only`: route names to measure (`ipxe`, `plan`, `announce`); empty means all.
pub async fn run(
    nodes: u32,
    concurrency: usize,
    only: &[String],
    client_kind: LoadClient,
    duration: Duration,
) -> Result<()> {
    for o in only {
        if !matches!(o.as_str(), "ipxe" | "plan" | "announce") {
            bail!("unknown route {o:?} for --only: use ipxe, plan or announce");
        }
    }
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let nodes = nodes as usize;
    if nodes == 0 || concurrency == 0 {
        bail!("--nodes and --concurrency must be at least 1");
    }
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data)?;
    eprintln!("creating {nodes} nodes with MACs ...");

    let luna = populate(&data, nodes).await?;
    let cache = cache::BootCache::load(&luna)
        .await
        .map_err(|e| anyhow!("{}", e.message))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let dist = crate::dist::start(
        &luna,
        &data,
        listener.local_addr()?,
        &crate::dist::DistSection::default(),
    )
    .await?;
    // Nodes announce a packed image's info-hash; register one so /announce answers with peers.
    dist.tracker.add_torrent(
        luna_dist::InfoHash(BENCH_INFO_HASH),
        vec![dist.seeder.listen_addr()],
    );
    let app = crate::serve::app(
        luna,
        "bench-token-0123456789abcdef0123456789".into(),
        cache,
        &data,
        dist,
    );
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while client
        .get(format!("{base}/boot/ipxe"))
        .send()
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            bail!("the daemon did not start within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let announce = |i: usize| {
        // BENCH_INFO_HASH, percent-encoded.
        format!(
            "/announce?info_hash=%00%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13&peer_id=-LB0001-{i:012}&port=6881&uploaded=0&downloaded=0&left=1000&compact=1&event=started"
        )
    };
    let routes: Vec<Route> = [
        ("ipxe", Route::Ipxe),
        ("plan", Route::Plan),
        ("announce", Route::Announce),
    ]
    .into_iter()
    .filter(|(name, _)| wanted(name))
    .map(|(_, r)| r)
    .collect();
    let mut list = Vec::with_capacity(nodes * routes.len());
    for i in 0..nodes {
        let mac = mac_of(i);
        for r in &routes {
            let path = match r {
                Route::Ipxe => format!("/boot/ipxe?mac={}&platform=efi", mac.replace(':', "-")),
                Route::Plan => format!("/api/v1/nodes/{mac}/plan"),
                Route::Announce => announce(i),
            };
            list.push((*r, path));
        }
    }
    let use_wrk = match client_kind {
        LoadClient::Wrk => true,
        LoadClient::Builtin => false,
        LoadClient::Auto => {
            let found = super::wrk_load::available();
            if !found {
                eprintln!(
                    "wrk is not installed (apt install wrk): measuring with the built-in client, which shares the daemon's cores"
                );
            }
            found
        }
    };
    if use_wrk {
        eprintln!(
            "{nodes} nodes ({} requests each) over {concurrency} connections for {} s, load from wrk ...",
            routes.len(),
            duration.as_secs()
        );
        let paths: Vec<String> = list.into_iter().map(|(_, p)| p).collect();
        let s = super::wrk_load::run(&base, &paths, concurrency, duration, tmp.path()).await;
        server.abort();
        let s = s?;
        let mut t = Table::new();
        t.set_header(["routes", "requests", "failed", "p50", "p99", "max"]);
        t.add_row([
            routes
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(" + "),
            s.requests.to_string(),
            s.failed.to_string(),
            format!("{:.1} ms", s.p50_ms),
            format!("{:.1} ms", s.p99_ms),
            format!("{:.1} ms", s.max_ms),
        ]);
        println!("{t}");
        println!(
            "{} requests in {:.2} s: {:.0} requests/s, p99 {:.1} ms (goal: >= {GOAL_RPS:.0} requests/s, p99 < {GOAL_P99_MS:.0} ms; load: wrk)",
            s.requests,
            s.seconds,
            s.requests as f64 / s.seconds.max(1e-9),
            s.p99_ms
        );
        if s.failed > 0 {
            bail!("{} requests failed", s.failed);
        }
        return Ok(());
    }
    let urls: Arc<Vec<(Route, String)>> = Arc::new(
        list.into_iter()
            .map(|(r, p)| (r, format!("{base}{p}")))
            .collect(),
    );

    eprintln!(
        "{} requests from {nodes} nodes, {concurrency} at a time ...",
        urls.len()
    );
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (urls, next, client) = (urls.clone(), next.clone(), client.clone());
        workers.push(tokio::spawn(async move {
            let mut seen: Vec<(Route, Duration, bool)> = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some((route, url)) = urls.get(k) else {
                    break;
                };
                let t = Instant::now();
                let ok = match client.get(url).send().await {
                    Ok(r) => {
                        let good = r.status().is_success();
                        good && r.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                seen.push((*route, t.elapsed(), ok));
            }
            seen
        }));
    }
    let mut all = Vec::with_capacity(urls.len());
    for w in workers {
        all.extend(w.await?);
    }
    let wall = start.elapsed();
    server.abort();

    let mut t = Table::new();
    t.set_header(["route", "requests", "failed", "p50", "p99", "max"]);
    let mut row = |name: &str, mut lat: Vec<Duration>, failed: usize| {
        lat.sort();
        let pct = |p: f64| {
            lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1))
                .map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        t.add_row([
            name.to_string(),
            lat.len().to_string(),
            failed.to_string(),
            format!("{:.1} ms", pct(0.50)),
            format!("{:.1} ms", pct(0.99)),
            format!("{:.1} ms", pct(1.0)),
        ]);
        pct(0.99)
    };
    for r in &routes {
        let lat: Vec<Duration> = all.iter().filter(|x| x.0 == *r).map(|x| x.1).collect();
        let failed = all.iter().filter(|x| x.0 == *r && !x.2).count();
        row(r.name(), lat, failed);
    }
    let failed = all.iter().filter(|x| !x.2).count();
    let p99 = row("all", all.iter().map(|x| x.1).collect(), failed);
    println!("{t}");
    let rps = all.len() as f64 / wall.as_secs_f64();
    println!(
        "{} requests in {:.2} s: {rps:.0} requests/s, p99 {p99:.1} ms (goal: >= {GOAL_RPS:.0} requests/s, p99 < {GOAL_P99_MS:.0} ms; load: built-in client)",
        all.len(),
        wall.as_secs_f64()
    );
    if failed > 0 {
        bail!("{failed} requests failed");
    }
    Ok(())
}

/// A cluster of `nodes` nodes with MACs `mac_of(i)`, written straight to the store in `data`.
async fn populate(data: &std::path::Path, nodes: usize) -> Result<Luna> {
    let store = Store::open(&format!("surrealkv://{}", data.join("db").display()))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let luna = Luna::new(store);
    let e = |e: crate::model::LunaError| anyhow!("{}", e.message);
    luna.cluster_init(ClusterChange::default())
        .await
        .map_err(e)?;
    luna.network_add(NetworkAdd {
        name: "cluster".into(),
        cidr: "10.0.0.0/16".into(),
        ..Default::default()
    })
    .await
    .map_err(e)?;
    let image = crate::bench::image_tree(data)?;
    luna.osimage_add(OsImageAdd {
        name: "compute".into(),
        path: image.display().to_string(),
        kernopts: Some("console=ttyS0".into()),
        ..Default::default()
    })
    .await
    .map_err(e)?;
    luna.group_add(GroupAdd {
        name: "compute".into(),
        osimage: "compute".into(),
        network: Some("cluster".into()),
        ..Default::default()
    })
    .await
    .map_err(e)?;
    let added = luna
        .node_add(NodeAdd {
            group: "compute".into(),
            count: Some(nodes as u32),
            ..Default::default()
        })
        .await
        .map_err(e)?;
    let macs: Vec<(String, String)> = added
        .iter()
        .enumerate()
        .map(|(i, v)| (v.node.name.clone(), mac_of(i)))
        .collect();
    luna.node_macs_set(&macs).await.map_err(e)?;
    Ok(luna)
}
