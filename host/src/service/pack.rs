//! The model side of packing: which kernels an image tree holds, and recording what a pack
//! produced. The packing itself runs in the daemon (`crate::dist::packing`).

use super::Luna;
use crate::model::{LunaError, OsImage, PackInfo, Result};
use crate::store::{Table, Tx};
use std::path::Path;

/// The kernel versions in the tree at `path` and the one to boot (`wanted`, else the newest
/// with both `/boot/vmlinuz-<ver>` and `/lib/modules/<ver>`).
pub fn kernels_of(name: &str, path: &str, wanted: Option<&str>) -> Result<(Vec<String>, String)> {
    let found = luna_dist::detect_kernels(Path::new(path)).map_err(|e| {
        LunaError::invalid(format!(
            "osimage '{name}': cannot read the tree {path}: {e}"
        ))
    })?;
    if found.is_empty() {
        return Err(LunaError::invalid(format!(
            "osimage '{name}': {path} holds no kernel (looked for /boot/vmlinuz-<version> and /lib/modules/<version>); install a kernel package in the image first"
        )));
    }
    let chosen = luna_dist::choose_kernel(&found, wanted)
        .map_err(|e| LunaError::invalid(format!("osimage '{name}': {e}")))?;
    Ok((
        found.into_iter().map(|k| k.version).collect(),
        chosen.version,
    ))
}

impl Luna {
    /// Records a finished pack on the image. Fails with not-found when the image was deleted or
    /// renamed while it was being packed (the caller then removes the orphaned artefacts).
    pub async fn osimage_set_pack(&self, name: &str, pack: PackInfo) -> Result<OsImage> {
        let _w = self.writes.lock().await;
        let mut image = self.osimage_show(name).await?;
        image.pack = Some(pack);
        let mut tx = Tx::new();
        tx.replace(Table::OsImage, name, &image);
        self.store.commit(tx).await?;
        Ok(image)
    }
}

impl Luna {
    /// Where a node fetches the image from, once the osimage is packed and nodes can be told
    /// where this host is.
    pub(super) async fn image_source(
        &self,
        image: &OsImage,
    ) -> Result<Option<luna_proto::dist::ImageSource>> {
        let Some(info_hash) = image.pack.as_ref().and_then(|p| p.info_hash.clone()) else {
            return Ok(None);
        };
        let cluster = self.cluster().await?;
        let Some(reach) = crate::dist::reach(&cluster) else {
            return Ok(None);
        };
        Ok(Some(luna_proto::dist::ImageSource {
            torrent_url: format!("http://{}/images/{}.torrent", reach.http, image.name),
            info_hash,
            seed_peers: reach.seeder.iter().map(|s| s.to_string()).collect(),
        }))
    }
}
