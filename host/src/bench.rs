//! `luna bench store`: the store and API under a 10k-node cluster through the real HTTP API, on the
//! embedded default store (or the store given), reported against the goals side by side.

use crate::api;
use crate::cli::client::Client;
use crate::service::*;
use crate::store::Store;
use anyhow::{Result, anyhow};
use comfy_table::Table;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Row {
    store: String,
    add: Duration,
    list: Duration,
    show: Duration,
}

pub async fn store(nodes: u32, store_url: Option<String>) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let stores = match store_url {
        Some(u) => vec![u],
        // mem:// is left out by default: its unique indexes make bulk inserts quadratic (it is
        // the unit-test store, not a production one); measure it explicitly with --store mem://.
        None => vec![format!("surrealkv://{}", tmp.path().join("db").display())],
    };
    let image_dir = image_tree(tmp.path())?;
    let mut rows = Vec::new();
    for url in stores {
        eprintln!("measuring {url} with {nodes} nodes ...");
        rows.push(measure(&url, nodes, &image_dir.display().to_string()).await?);
    }
    let mut t = Table::new();
    t.set_header([
        "store",
        &format!("add {nodes} nodes"),
        "nodes/s",
        "node list",
        "node show (avg of 100)",
    ]);
    for r in &rows {
        t.add_row([
            r.store.clone(),
            format!("{:.2} s", r.add.as_secs_f64()),
            format!("{:.0}", nodes as f64 / r.add.as_secs_f64()),
            format!("{:.0} ms", r.list.as_secs_f64() * 1e3),
            format!("{:.2} ms", r.show.as_secs_f64() * 1e3),
        ]);
    }
    println!("{t}");
    println!("goals for 10,000 nodes: add < 10 s, list < 500 ms, show < 10 ms");
    Ok(())
}

async fn measure(url: &str, nodes: u32, image: &str) -> Result<Row> {
    let store = Store::open(url).await.map_err(|e| anyhow!("{e}"))?;
    let luna = Luna::new(store);
    let token = "bench-token-0123456789abcdef0123456789".to_string();
    let app = api::router(luna, api::Token(Arc::new(token.clone())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let c = Client::new(
        &format!("http://{addr}"),
        Some(token),
        std::path::Path::new("/nonexistent"),
    );
    let e = |e: crate::cli::client::CliError| anyhow!("{}", e.message);
    c.post("/cluster", &ClusterChange::default())
        .await
        .map_err(e)?;
    for (name, cidr) in [
        ("cluster", "10.0.0.0/16"),
        ("ipmi", "10.1.0.0/16"),
        ("ib", "10.2.0.0/16"),
    ] {
        let req = NetworkAdd {
            name: name.into(),
            cidr: cidr.into(),
            ..Default::default()
        };
        c.post("/networks", &req).await.map_err(e)?;
    }
    let img = OsImageAdd {
        name: "compute".into(),
        path: image.into(),
        ..Default::default()
    };
    c.post("/osimages", &img).await.map_err(e)?;
    let g = GroupAdd {
        name: "compute".into(),
        osimage: "compute".into(),
        network: Some("cluster".into()),
        bmcnetwork: Some("ipmi".into()),
        ..Default::default()
    };
    c.post("/groups", &g).await.map_err(e)?;
    let ib = GroupInterfaceSet {
        network: Some("ib".into()),
        ..Default::default()
    };
    c.put("/groups/compute/interfaces/ib0", &ib)
        .await
        .map_err(e)?;

    let t = Instant::now();
    let added = c
        .post(
            "/nodes",
            &NodeAdd {
                group: "compute".into(),
                count: Some(nodes),
                ..Default::default()
            },
        )
        .await
        .map_err(e)?;
    let add = t.elapsed();
    let n_added = added.as_array().map(Vec::len).unwrap_or(0);
    if n_added != nodes as usize {
        return Err(anyhow!("added {n_added} nodes, expected {nodes}"));
    }

    let t = Instant::now();
    let list = c.get("/nodes").await.map_err(e)?;
    let list_time = t.elapsed();
    let listed = list.as_array().map(Vec::len).unwrap_or(0);
    if listed != nodes as usize || list[0]["addresses"].as_array().map(Vec::len) != Some(3) {
        return Err(anyhow!(
            "node list returned {listed} nodes or lacks their 3 addresses"
        ));
    }

    let probe = list[listed / 2]["name"]
        .as_str()
        .unwrap_or("node001")
        .to_string();
    let t = Instant::now();
    for _ in 0..100 {
        let v = c.get(&format!("/nodes/{probe}")).await.map_err(e)?;
        if v["name"] != probe.as_str() {
            return Err(anyhow!("node show returned the wrong node"));
        }
    }
    let show = t.elapsed() / 100;
    server.abort();
    Ok(Row {
        store: url.split("://").next().unwrap_or(url).to_string(),
        add,
        list: list_time,
        show,
    })
}

/// An osimage tree the benchmarks can add: `osimage add` wants a kernel in it.
pub fn image_tree(dir: &std::path::Path) -> Result<std::path::PathBuf> {
    let image = dir.join("image");
    std::fs::create_dir_all(image.join("boot"))?;
    std::fs::create_dir_all(image.join("lib/modules/6.1.0-bench"))?;
    std::fs::write(image.join("boot/vmlinuz-6.1.0-bench"), b"bench")?;
    Ok(image)
}
