//! `luna bench plans`: renders the install plan of every node of a large group through the
//! service layer, with a WASM partitioner and a WASM post-install plugin bound, as the plan
//! endpoint does for booting nodes. Reports time per plan against the goal.

use crate::service::*;
use crate::store::Store;
use anyhow::{Context, Result, anyhow};
use std::path::Path;
use std::time::Instant;

/// 10,000 plans in under 5 s on 2 cores.
const GOAL_SECS_PER_10K: f64 = 5.0;

pub async fn run(nodes: u32, partition: &Path, post_install: &Path) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let store = Store::open(&format!("surrealkv://{}", tmp.path().join("db").display()))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let luna = Luna::new(store);
    let e = |e: crate::model::LunaError| anyhow!("{e}");
    luna.cluster_init(ClusterChange::default())
        .await
        .map_err(e)?;
    for (name, cidr) in [("cluster", "10.0.0.0/16"), ("ipmi", "10.1.0.0/16")] {
        luna.network_add(NetworkAdd {
            name: name.into(),
            cidr: cidr.into(),
            ..Default::default()
        })
        .await
        .map_err(e)?;
    }
    let image = crate::bench::image_tree(tmp.path())?;
    luna.osimage_add(OsImageAdd {
        name: "compute".into(),
        path: image.display().to_string(),
        ..Default::default()
    })
    .await
    .map_err(e)?;
    luna.group_add(GroupAdd {
        name: "compute".into(),
        osimage: "compute".into(),
        network: Some("cluster".into()),
        bmcnetwork: Some("ipmi".into()),
        domain: Some("cluster".into()),
        ..Default::default()
    })
    .await
    .map_err(e)?;
    let mut bindings = Vec::new();
    for file in [partition, post_install] {
        let bytes = std::fs::read(file)
            .with_context(|| format!("cannot read plugin file {}", file.display()))?;
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let installed = luna.plugin_install(&name, None, bytes).await.map_err(e)?;
        bindings.push(crate::model::PluginBinding {
            plugin: installed.meta.name,
            config: serde_json::json!({}),
        });
    }
    let mut bindings = bindings.into_iter();
    luna.group_change(
        "compute",
        GroupChange {
            partition: bindings.next(),
            post_install: bindings.next(),
            ..Default::default()
        },
    )
    .await
    .map_err(e)?;
    eprintln!("adding {nodes} nodes ...");
    let added = luna
        .node_add(NodeAdd {
            group: "compute".into(),
            count: Some(nodes),
            ..Default::default()
        })
        .await
        .map_err(e)?;
    let names: Vec<String> = added.into_iter().map(|v| v.node.name).collect();

    // One warm-up plan, so compiling the plugins is not measured.
    luna.node_plan(&names[0]).await.map_err(e)?;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    eprintln!(
        "rendering {} plans with {workers} concurrent requests ...",
        names.len()
    );
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in names.chunks(names.len().div_ceil(workers)) {
        let (luna, chunk) = (luna.clone(), chunk.to_vec());
        tasks.spawn(async move {
            for n in chunk {
                let plan = luna.node_plan(&n).await?;
                if plan.rendered.partition.is_none() || plan.rendered.post_install.is_none() {
                    return Err(crate::model::LunaError::internal(format!(
                        "plan of {n} lacks a rendered hook"
                    )));
                }
            }
            Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r?.map_err(e)?;
    }
    let total = started.elapsed().as_secs_f64();
    let per_plan_ms = total * 1e3 / names.len() as f64;
    let mut t = comfy_table::Table::new();
    t.set_header([
        "plans",
        "total",
        "per plan",
        "plans/s",
        "10k plans (goal < 5 s)",
    ]);
    t.add_row([
        names.len().to_string(),
        format!("{total:.2} s"),
        format!("{per_plan_ms:.3} ms"),
        format!("{:.0}", names.len() as f64 / total),
        format!("{:.2} s", per_plan_ms * 10.0),
    ]);
    println!("{t}");
    println!(
        "each plan: rendered from the per-change model snapshot, then {} partition + {} post-install calls",
        partition.display(),
        post_install.display()
    );
    if per_plan_ms * 10.0 > GOAL_SECS_PER_10K {
        eprintln!("slower than the goal of {GOAL_SECS_PER_10K} s per 10,000 plans");
    }
    Ok(())
}
