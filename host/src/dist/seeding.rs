//! The host seeder: one librqbit session (state under `DATA/seeder/`, so a restart resumes
//! without re-hashing) seeding every packed image. A loop woken by every store change makes the
//! seeded set, the tracker and the artefacts on disk match the osimages: new packs are seeded,
//! re-packs switch to the new info-hash, and artefacts of deleted or renamed images are removed.

use super::Distribution;
use crate::model::{Cluster, OsImage};
use crate::service::Luna;
use anyhow::{Context, bail};
use luna_dist::{SeederOptions, TorrentSeeder};
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

/// Starts the session on the first free port of the cluster's torrent port range.
pub async fn start_seeder(
    data_dir: &Path,
    ip: IpAddr,
    cluster: &Cluster,
) -> anyhow::Result<TorrentSeeder> {
    let (min, max) = (cluster.torrent_port_min, cluster.torrent_port_max);
    if min == 0 || min > max {
        bail!(
            "the cluster's torrent port range {min}-{max} is empty; fix it with 'luna cluster change --torrent-port-min/--torrent-port-max'"
        );
    }
    let state = data_dir.join("seeder");
    let mut last_err = None;
    for port in min..=max {
        let addr = SocketAddr::new(ip, port);
        // Probe first: the session keeps retrying a taken port instead of failing.
        if std::net::TcpListener::bind(addr).is_err() {
            continue;
        }
        match TorrentSeeder::start(SeederOptions::new(&state, addr)).await {
            Ok(s) => {
                tracing::info!(listen = %s.listen_addr(), images = s.list().len(), "torrent seeder started");
                return Ok(s);
            }
            Err(e) => last_err = Some(e),
        }
    }
    match last_err {
        Some(e) => Err(e).context("starting the torrent seeder"),
        None => bail!(
            "no free port for the torrent seeder on {ip} in {min}-{max}; free one or widen the range with 'luna cluster change --torrent-port-max'"
        ),
    }
}

/// Runs [`sync`] now and after every store change (or poke) until the daemon stops.
pub fn spawn_sync_loop(dist: Arc<Distribution>, luna: Luna) {
    let mut changes = luna.changes();
    tokio::spawn(async move {
        loop {
            if let Err(e) = sync(&dist, &luna).await {
                tracing::warn!(error = %format!("{e:#}"), "syncing the seeder with the osimages failed; retrying on the next change");
            }
            tokio::select! {
                r = changes.changed() => if r.is_err() { break },
                _ = dist.poke.notified() => {}
            }
        }
    });
}

/// One pass: remove orphaned artefacts, seed what is on disk, track what is seeded.
pub async fn sync(dist: &Distribution, luna: &Luna) -> anyhow::Result<()> {
    let cluster = luna.cluster().await.unwrap_or_default();
    let images = luna
        .osimage_list()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    remove_orphans(dist, &images)?;
    let dir = dist.images_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let (added, removed) = dist.seeder.sync_dir(&dir).await?;
    for h in &added {
        tracing::info!(info_hash = %h, "seeding image");
    }
    for h in &removed {
        tracing::info!(info_hash = %h, "stopped seeding image");
    }
    super::tracking::track_seeded(dist, &cluster);
    Ok(())
}

/// Deletes artefacts no osimage's pack accounts for (the image was deleted or renamed), except
/// those of a pack still running.
fn remove_orphans(dist: &Distribution, images: &[OsImage]) -> anyhow::Result<()> {
    let running = dist.jobs.running();
    let packed: HashSet<&str> = images
        .iter()
        .filter(|i| i.pack.as_ref().is_some_and(|p| p.info_hash.is_some()))
        .map(|i| i.name.as_str())
        .collect();
    let booted: HashSet<&str> = images
        .iter()
        .filter(|i| i.pack.as_ref().is_some_and(|p| p.kernel || p.initramfs))
        .map(|i| i.name.as_str())
        .collect();
    let keep = |name: &str, set: &HashSet<&str>| set.contains(name) || running.contains(name);
    let images_dir = dist.images_dir();
    for name in entries(&images_dir)? {
        let image = name
            .strip_suffix(".tar.zst")
            .or_else(|| name.strip_suffix(".torrent"));
        if image.is_some_and(|i| !keep(i, &packed)) {
            let path = images_dir.join(&name);
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            tracing::info!(path = %path.display(), "removed the artefact of a deleted osimage");
        }
    }
    let boot_dir = dist.data_dir.join("boot");
    for name in entries(&boot_dir)? {
        let path = boot_dir.join(&name);
        if path.is_dir() && !keep(&name, &booted) {
            // Only what pack wrote: anything else someone put there stays.
            let mut removed = false;
            for f in ["kernel", "initramfs"] {
                match std::fs::remove_file(path.join(f)) {
                    Ok(()) => removed = true,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(e).with_context(|| format!("removing {}/{f}", path.display()));
                    }
                }
            }
            let _ = std::fs::remove_dir(&path);
            if removed {
                tracing::info!(path = %path.display(), "removed the boot files of a deleted osimage");
            }
        }
    }
    Ok(())
}

/// Names in `dir` that are not hidden (temporary files of a pack start with '.').
fn entries(dir: &Path) -> anyhow::Result<Vec<String>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut names = Vec::new();
    for e in rd {
        let name = e?.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            names.push(name);
        }
    }
    Ok(names)
}
