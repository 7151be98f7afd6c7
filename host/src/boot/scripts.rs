//! The iPXE script a known node gets: local boot, service mode, or install (kernel + Luna
//! initramfs from `/boot/files/<osimage>/…`).

use crate::service::BootNode;
use luna_boot::ipxe::{InstallBoot, InstallMode, ScriptError, install_script, localboot_script};

/// `luna_url` is the base URL the node reached us at, e.g. `http://10.141.255.254:7050`.
pub fn node_script(node: &BootNode, luna_url: &str) -> Result<String, ScriptError> {
    if node.localboot {
        return localboot_script(&node.name);
    }
    let base = luna_url.trim_end_matches('/');
    install_script(&InstallBoot {
        luna_url: base.to_string(),
        node: node.name.clone(),
        mac: node.mac,
        kernel_url: format!("{base}/boot/files/{}/kernel", node.osimage),
        initrd_url: format!("{base}/boot/files/{}/initramfs", node.osimage),
        kernel_options: node.kernopts.clone(),
        mode: if node.service {
            InstallMode::Service
        } else {
            InstallMode::Install
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> BootNode {
        BootNode {
            name: "node001".into(),
            mac: "52:54:00:00:00:01".parse().unwrap(),
            osimage: "compute".into(),
            kernopts: "console=ttyS0".into(),
            localboot: false,
            service: false,
            bootif_ip: None,
        }
    }

    #[test]
    fn install_fetches_the_images_files() {
        let s = node_script(&node(), "http://10.99.0.1:7050/").unwrap();
        assert!(s.contains("kernel http://10.99.0.1:7050/boot/files/compute/kernel "));
        assert!(
            s.contains("initrd --name initrd http://10.99.0.1:7050/boot/files/compute/initramfs")
        );
        assert!(s.contains("luna.node=node001 luna.mac=52:54:00:00:00:01 console=ttyS0"));
    }

    #[test]
    fn localboot_wins_over_service() {
        let mut n = node();
        n.localboot = true;
        n.service = true;
        assert!(node_script(&n, "http://h:1").unwrap().contains("sanboot"));
        n.localboot = false;
        assert!(
            node_script(&n, "http://h:1")
                .unwrap()
                .contains("luna.service=1")
        );
    }
}
