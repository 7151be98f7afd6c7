//! Kernel module selection for the initramfs: the NIC and disk drivers a node may need,
//! with their dependencies (from `modules.dep`, or from each module's `.modinfo` `depends=`
//! when the image has no `modules.dep`), ordered so dependencies load first.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Drivers for the NICs and disk controllers common in clusters and VMs, plus the file
/// systems partition scripts create. Missing ones are usually built into the kernel.
pub const COMMON_MODULES: &[&str] = &[
    // virtual machines
    "virtio_pci",
    "virtio_net",
    "virtio_blk",
    "virtio_scsi",
    "vmxnet3",
    "hv_netvsc",
    "hv_storvsc",
    // NICs
    "e1000",
    "e1000e",
    "igb",
    "igc",
    "ixgbe",
    "i40e",
    "ice",
    "bnxt_en",
    "tg3",
    "bnx2",
    "bnx2x",
    "r8169",
    "mlx4_en",
    "mlx5_core",
    "qede",
    "sfc",
    "be2net",
    "ena",
    // disks
    "ahci",
    "ata_piix",
    "nvme",
    "sd_mod",
    "sr_mod",
    "megaraid_sas",
    "mpt3sas",
    "hpsa",
    "smartpqi",
    "aacraid",
    "isci",
    // file systems and friends
    "ext4",
    "xfs",
    "vfat",
    "nls_cp437",
    "nls_iso8859_1",
    "raid1",
    "dm_mod",
];

/// Modules to put in the initramfs, dependencies first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleSelection {
    /// Paths relative to `/lib/modules/<ver>`, in load order.
    pub ordered: Vec<PathBuf>,
    /// Requested names with no module file (built in, or not shipped by this kernel).
    pub not_found: Vec<String>,
    /// Modules whose dependencies could not be read (compressed without `modules.dep`).
    pub unknown_deps: Vec<String>,
}

/// `e1000e.ko.zst` → `e1000e`; dashes and underscores are the same to the kernel.
pub fn module_name(file: &Path) -> Option<String> {
    let name = file.file_name()?.to_str()?;
    let stem = ["", ".xz", ".zst", ".gz"]
        .iter()
        .find_map(|ext| name.strip_suffix(&format!(".ko{ext}")))?;
    Some(stem.replace('-', "_"))
}

fn index_modules(
    dir: &Path,
    rel: &Path,
    out: &mut BTreeMap<String, PathBuf>,
) -> std::io::Result<()> {
    let rd = match std::fs::read_dir(dir.join(rel)) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in rd {
        let e = e?;
        let r = rel.join(e.file_name());
        if e.file_type()?.is_dir() {
            index_modules(dir, &r, out)?;
        } else if let Some(name) = module_name(&r) {
            out.entry(name).or_insert(r);
        }
    }
    Ok(())
}

fn parse_modules_dep(text: &str) -> BTreeMap<PathBuf, Vec<PathBuf>> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(m, deps)| {
            (
                PathBuf::from(m.trim()),
                deps.split_whitespace().map(PathBuf::from).collect(),
            )
        })
        .collect()
}

/// `depends=a,b` from a module's `.modinfo` section (uncompressed or zstd modules).
fn modinfo_depends(path: &Path) -> Option<Vec<String>> {
    let name = path.file_name()?.to_str()?;
    let bytes = if name.ends_with(".ko") {
        std::fs::read(path).ok()?
    } else if name.ends_with(".ko.zst") {
        zstd::decode_all(std::fs::File::open(path).ok()?).ok()?
    } else {
        return None;
    };
    let elf = goblin::elf::Elf::parse(&bytes).ok()?;
    let sh = elf
        .section_headers
        .iter()
        .find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(".modinfo"))?;
    let start = usize::try_from(sh.sh_offset).ok()?;
    let data = bytes.get(start..start + usize::try_from(sh.sh_size).ok()?)?;
    let deps = data
        .split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(b"depends="))?;
    Some(
        String::from_utf8_lossy(deps)
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.replace('-', "_"))
            .collect(),
    )
}

/// Picks `wanted` modules (by name) and their dependencies from `modules_dir`
/// (`<image>/lib/modules/<ver>`).
pub fn select_modules(modules_dir: &Path, wanted: &[&str]) -> std::io::Result<ModuleSelection> {
    let mut by_name = BTreeMap::new();
    index_modules(modules_dir, Path::new(""), &mut by_name)?;
    let dep_file = match std::fs::read_to_string(modules_dir.join("modules.dep")) {
        Ok(t) => Some(parse_modules_dep(&t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mut sel = ModuleSelection::default();
    let mut done: HashSet<PathBuf> = HashSet::new();
    let mut visiting: HashSet<PathBuf> = HashSet::new();
    // Depth-first, appending after the dependencies: a valid load order.
    fn visit(
        m: &Path,
        modules_dir: &Path,
        by_name: &BTreeMap<String, PathBuf>,
        dep_file: &Option<BTreeMap<PathBuf, Vec<PathBuf>>>,
        done: &mut HashSet<PathBuf>,
        visiting: &mut HashSet<PathBuf>,
        sel: &mut ModuleSelection,
    ) {
        if done.contains(m) || !visiting.insert(m.to_path_buf()) {
            return;
        }
        let deps: Vec<PathBuf> = match dep_file {
            Some(map) => map.get(m).cloned().unwrap_or_default(),
            None => match modinfo_depends(&modules_dir.join(m)) {
                Some(names) => names
                    .iter()
                    .filter_map(|n| by_name.get(n).cloned())
                    .collect(),
                None => {
                    sel.unknown_deps.push(m.display().to_string());
                    Vec::new()
                }
            },
        };
        for d in deps {
            visit(&d, modules_dir, by_name, dep_file, done, visiting, sel);
        }
        visiting.remove(m);
        done.insert(m.to_path_buf());
        sel.ordered.push(m.to_path_buf());
    }
    for w in wanted {
        match by_name.get(&w.replace('-', "_")) {
            Some(m) => visit(
                m,
                modules_dir,
                &by_name,
                &dep_file,
                &mut done,
                &mut visiting,
                &mut sel,
            ),
            None => sel.not_found.push(w.to_string()),
        }
    }
    Ok(sel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_dependencies_first_from_modules_dep() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        for m in [
            "kernel/drivers/net/virtio_net.ko",
            "kernel/drivers/net/net_failover.ko",
            "kernel/net/core/failover.ko",
            "kernel/drivers/virtio/virtio_ring.ko.zst",
        ] {
            std::fs::create_dir_all(d.join(m).parent().unwrap()).unwrap();
            std::fs::write(d.join(m), b"").unwrap();
        }
        std::fs::write(
            d.join("modules.dep"),
            "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio_ring.ko.zst\n\
             kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n\
             kernel/net/core/failover.ko:\nkernel/drivers/virtio/virtio_ring.ko.zst:\n",
        )
        .unwrap();
        let sel = select_modules(d, &["virtio-net", "no_such_driver"]).unwrap();
        let names: Vec<String> = sel
            .ordered
            .iter()
            .map(|p| module_name(p).unwrap())
            .collect();
        let pos = |n: &str| names.iter().position(|x| x == n).unwrap();
        assert!(pos("failover") < pos("net_failover"));
        assert!(pos("net_failover") < pos("virtio_net"));
        assert!(pos("virtio_ring") < pos("virtio_net"));
        assert_eq!(names.len(), 4);
        assert_eq!(sel.not_found, vec!["no_such_driver".to_string()]);
    }
}
