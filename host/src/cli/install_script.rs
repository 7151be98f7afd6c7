//! `luna node show N --script install`: the node's install program as the agent runs it, from the
//! plan the daemon renders (group scripts and the outputs of the bound plugin hooks).

use luna_proto::plan::NodePlan;
use std::fmt::Write;

/// Delimiter of the chrooted post-install here-document (quoted: nothing is expanded).
const POST_EOF: &str = "LUNA_POST_INSTALL";

pub fn render(plan: &NodePlan) -> String {
    let mut s = String::new();
    let plugin_of = |hook: &str| {
        plan.plugins
            .iter()
            .find(|p| p.hook == hook)
            .map(|p| p.plugin.as_str())
            .unwrap_or("?")
    };
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# Install program of node {} (group {}, osimage {}), rendered by Luna.",
        plan.node, plan.group, plan.osimage.name
    );
    let _ = writeln!(s, "set -e");
    section(&mut s, "prescript", &plan.scripts.prescript);
    match (&plan.rendered.bmc_setup, &plan.bmc) {
        (Some(script), _) => section(
            &mut s,
            &format!("BMC setup: plugin {}", plugin_of("bmc")),
            script,
        ),
        (None, Some(b)) => {
            let _ = writeln!(
                s,
                "\n# --- BMC setup: built-in ipmitool sequence (user {}, user id {}, channel {}) ---",
                b.user, b.userid, b.netchannel
            );
        }
        (None, None) => {}
    }
    match &plan.rendered.partition {
        Some(p) => {
            section(
                &mut s,
                &format!(
                    "partitioning: plugin {}; leaves the target mounted on /sysroot",
                    plugin_of("partition")
                ),
                &p.script,
            );
            let _ = writeln!(s, "# file systems created:");
            for m in &p.mounts {
                let _ = writeln!(
                    s,
                    "#   {} {} {} {}",
                    m.source, m.target, m.fstype, m.options
                );
            }
            if !p.boot_devices.is_empty() {
                let _ = writeln!(s, "# boot devices: {}", p.boot_devices.join(" "));
            }
        }
        None if plan.scripts.partscript.trim().is_empty() => section(
            &mut s,
            "partitioning: none (diskless, root on tmpfs)",
            "mount -t tmpfs tmpfs /sysroot\n",
        ),
        None => section(&mut s, "partscript", &plan.scripts.partscript),
    }
    let _ = writeln!(
        s,
        "\n# --- the agent unpacks osimage {} onto /sysroot here ---",
        plan.osimage.name
    );
    if let Some(post) = &plan.rendered.post_install {
        let _ = writeln!(
            s,
            "\n# --- post-install: plugin {}, chrooted in /sysroot ---",
            plugin_of("post-install")
        );
        let _ = writeln!(s, "chroot /sysroot /bin/sh -s <<'{POST_EOF}'");
        s.push_str(post);
        if !post.ends_with('\n') {
            s.push('\n');
        }
        let _ = writeln!(s, "{POST_EOF}");
    }
    section(&mut s, "postscript", &plan.scripts.postscript);
    s
}

fn section(s: &mut String, title: &str, body: &str) {
    if body.trim().is_empty() {
        return;
    }
    let _ = writeln!(s, "\n# --- {title} ---");
    s.push_str(body);
    if !body.ends_with('\n') {
        s.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use luna_proto::plan::*;
    use luna_proto::plugin::{Mount, PartitionPlan};

    fn plan() -> NodePlan {
        NodePlan {
            node: "node001".into(),
            group: "compute".into(),
            hostname: "node001".into(),
            mac: None,
            osimage: OsImagePlan {
                name: "debian12".into(),
                kernver: None,
                kernopts: String::new(),
            },
            interfaces: vec![],
            bmc: None,
            localboot: false,
            service: false,
            scripts: ScriptsPlan {
                prescript: "echo pre".into(),
                partscript: String::new(),
                postscript: "echo post\n".into(),
            },
            plugins: vec![
                PluginPlan {
                    hook: "partition".into(),
                    plugin: "gpt-simple".into(),
                    config: serde_json::json!({}),
                },
                PluginPlan {
                    hook: "post-install".into(),
                    plugin: "grub-post".into(),
                    config: serde_json::json!({}),
                },
            ],
            image: None,
            rendered: Default::default(),
        }
    }

    #[test]
    fn diskless_without_plugins() {
        let s = render(&plan());
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains("# --- prescript ---\necho pre\n"));
        assert!(s.contains("mount -t tmpfs tmpfs /sysroot"));
        assert!(!s.contains("chroot"));
        assert!(s.ends_with("# --- postscript ---\necho post\n"));
    }

    #[test]
    fn plugin_outputs_in_install_order() {
        let mut p = plan();
        p.rendered.partition = Some(PartitionPlan {
            script: "sgdisk /dev/sda".into(),
            mounts: vec![Mount {
                source: "LABEL=root".into(),
                target: "/".into(),
                fstype: "ext4".into(),
                options: "defaults".into(),
            }],
            boot_devices: vec!["/dev/sda".into()],
        });
        p.rendered.post_install = Some("grub-install /dev/sda".into());
        let s = render(&p);
        let order = [
            "# --- prescript",
            "plugin gpt-simple",
            "sgdisk /dev/sda\n",
            "#   LABEL=root / ext4 defaults",
            "unpacks osimage debian12",
            "plugin grub-post, chrooted",
            "chroot /sysroot /bin/sh -s <<'LUNA_POST_INSTALL'\ngrub-install /dev/sda\nLUNA_POST_INSTALL\n",
            "# --- postscript",
        ];
        let mut at = 0;
        for needle in order {
            let i = s[at..]
                .find(needle)
                .unwrap_or_else(|| panic!("{needle:?} after {at} in\n{s}"));
            at += i;
        }
        assert!(!s.contains("tmpfs"));
    }
}
