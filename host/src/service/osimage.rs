//! OS images: a tree on the host plus how to boot it. Packing lives in the distribution crate.

use super::{Luna, OsImageAdd, OsImageChange, OsImageClone, ensure_free, set_opt};
use crate::model::{Group, LunaError, OsImage, Result};
use crate::store::{Table, Tx};
use std::path::Path;

impl Luna {
    pub async fn osimage_list(&self) -> Result<Vec<OsImage>> {
        let mut v: Vec<OsImage> = self.store.list(Table::OsImage).await?;
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    pub async fn osimage_show(&self, name: &str) -> Result<OsImage> {
        self.store
            .get(Table::OsImage, name)
            .await?
            .ok_or_else(|| LunaError::not_found("osimage", name))
    }

    pub async fn osimage_add(&self, req: OsImageAdd) -> Result<OsImage> {
        let _w = self.writes.lock().await;
        self.require_cluster().await?;
        ensure_free(self, Table::OsImage, "osimage", &req.name).await?;
        check_tree(&req.name, &req.path)?;
        let (kernels, kernver) =
            super::pack::kernels_of(&req.name, &req.path, req.kernver.as_deref())?;
        let image = OsImage {
            name: req.name,
            path: req.path,
            kernver: Some(kernver),
            kernels,
            kernopts: req.kernopts.unwrap_or_default(),
            modules: req.modules.unwrap_or_default(),
            drivers: req.drivers.unwrap_or_default(),
            grab_exclude: req.grab_exclude.unwrap_or_else(default_grab_exclude),
            comment: req.comment.filter(|c| !c.is_empty()),
            pack: None,
        };
        let mut tx = Tx::new();
        tx.create(Table::OsImage, &image);
        self.store.commit(tx).await?;
        Ok(image)
    }

    pub async fn osimage_change(&self, name: &str, req: OsImageChange) -> Result<OsImage> {
        let _w = self.writes.lock().await;
        let mut image = self.osimage_show(name).await?;
        if let Some(p) = req.path {
            check_tree(name, &p)?;
            image.path = p;
        }
        set_opt(&mut image.kernver, req.kernver);
        // A new tree or kernel choice is checked against the kernels the tree holds now.
        let (kernels, kernver) =
            super::pack::kernels_of(name, &image.path, image.kernver.as_deref())?;
        image.kernels = kernels;
        image.kernver = Some(kernver);
        if let Some(k) = req.kernopts {
            image.kernopts = k;
        }
        if let Some(m) = req.modules {
            image.modules = m;
        }
        if let Some(d) = req.drivers {
            image.drivers = d;
        }
        if let Some(g) = req.grab_exclude {
            image.grab_exclude = g;
        }
        set_opt(&mut image.comment, req.comment);
        let mut tx = Tx::new();
        tx.replace(Table::OsImage, name, &image);
        self.store.commit(tx).await?;
        Ok(image)
    }

    pub async fn osimage_rename(&self, name: &str, new_name: &str) -> Result<OsImage> {
        let _w = self.writes.lock().await;
        let mut image = self.osimage_show(name).await?;
        ensure_free(self, Table::OsImage, "osimage", new_name).await?;
        image.name = new_name.to_string();
        // Artefacts carry the image name (the torrent's too, so its info-hash): the renamed
        // image is repacked under its new name, and the seeder drops the old files.
        image.pack = None;
        let mut tx = Tx::new();
        tx.replace(Table::OsImage, name, &image);
        tx.rename_ref(Table::Group, "osimage", name, new_name);
        self.store.commit(tx).await?;
        Ok(image)
    }

    pub async fn osimage_clone(&self, name: &str, req: OsImageClone) -> Result<OsImage> {
        let _w = self.writes.lock().await;
        let mut image = self.osimage_show(name).await?;
        ensure_free(self, Table::OsImage, "osimage", &req.new_name).await?;
        if let Some(p) = req.path {
            check_tree(&req.new_name, &p)?;
            let (kernels, kernver) = super::pack::kernels_of(&req.new_name, &p, None)?;
            image.path = p;
            image.kernels = kernels;
            image.kernver = Some(kernver);
        }
        image.name = req.new_name;
        // A clone is packed on its own (`luna osimage pack NEW`); it shares no artefacts.
        image.pack = None;
        let mut tx = Tx::new();
        tx.create(Table::OsImage, &image);
        self.store.commit(tx).await?;
        Ok(image)
    }

    pub async fn osimage_delete(&self, name: &str) -> Result<()> {
        let _w = self.writes.lock().await;
        self.osimage_show(name).await?;
        let users: Vec<Group> = self.store.list_where(Table::Group, "osimage", name).await?;
        if let Some(g) = users.first() {
            return Err(LunaError::conflict(format!(
                "osimage '{name}' is still used by group '{}'; point the group at another image first ('luna group change {} --osimage OTHER')",
                g.name, g.name
            )));
        }
        let mut tx = Tx::new();
        tx.delete(Table::OsImage, name);
        self.store.commit(tx).await
    }
}

fn check_tree(name: &str, path: &str) -> Result<()> {
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(LunaError::invalid(format!(
            "osimage '{name}': path '{path}' is relative; give the absolute path of the image tree"
        )));
    }
    if !p.is_dir() {
        return Err(LunaError::invalid(format!(
            "osimage '{name}': '{path}' is not a directory on the Luna host; create the image tree there first"
        )));
    }
    Ok(())
}

/// What a grab from a running node leaves out by default: virtual and volatile file systems.
fn default_grab_exclude() -> Vec<String> {
    [
        "/proc/*",
        "/sys/*",
        "/dev/*",
        "/run/*",
        "/tmp/*",
        "/var/tmp/*",
        "/var/log/*",
        "/var/cache/*",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}
