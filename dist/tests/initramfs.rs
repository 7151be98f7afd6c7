//! Builds a Luna initramfs from an image made of this host's own binaries, unpacks it and runs
//! the copied tools inside it with chroot: proves the shared libraries were resolved from the
//! ELF headers. Needs root and /bin/busybox (busybox-static).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use luna_dist::initramfs::elf_deps::library_closure;
use luna_dist::initramfs::modules::module_name;
use luna_dist::{Compression, InitramfsBuilder, InitramfsOptions};

/// Copies host file `p` (image-absolute) into the image at its real path.
fn copy_in(image: &Path, p: &Path) {
    let real = p.canonicalize().unwrap();
    let dst = image.join(real.strip_prefix("/").unwrap());
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    std::fs::copy(&real, &dst).unwrap();
}

fn make_image(image: &Path) -> String {
    for (link, target) in [
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
        ("sbin", "usr/sbin"),
        ("bin", "usr/bin"),
    ] {
        std::fs::create_dir_all(image.join(target)).unwrap();
        std::os::unix::fs::symlink(target, image.join(link)).unwrap();
    }
    let tools = [
        PathBuf::from("/usr/sbin/mke2fs"),
        PathBuf::from("/usr/sbin/blkid"),
    ];
    for t in &tools {
        copy_in(image, t);
    }
    std::os::unix::fs::symlink("mke2fs", image.join("usr/sbin/mkfs.ext4")).unwrap();
    let (libs, missing) = library_closure(Path::new("/"), &tools).unwrap();
    assert!(missing.is_empty(), "{missing:?}");
    for l in &libs {
        copy_in(image, l);
        // Keep the loader reachable under its PT_INTERP name (/lib64/ld-linux-x86-64.so.2).
        let as_named = image.join(l.strip_prefix("/").unwrap());
        if !as_named.exists() {
            std::fs::create_dir_all(as_named.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(l.canonicalize().unwrap(), &as_named).unwrap();
        }
    }
    let ver = "6.1.0-luna-test";
    let mods = image.join("usr/lib/modules").join(ver);
    for m in [
        "kernel/drivers/net/virtio_net.ko",
        "kernel/drivers/net/net_failover.ko",
        "kernel/net/core/failover.ko",
        "kernel/drivers/nvme/host/nvme.ko",
        "kernel/drivers/nvme/host/nvme-core.ko",
        "kernel/sound/unrelated.ko",
    ] {
        std::fs::create_dir_all(mods.join(m).parent().unwrap()).unwrap();
        std::fs::write(mods.join(m), b"\0").unwrap();
    }
    std::fs::write(
        mods.join("modules.dep"),
        "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko\n\
         kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\nkernel/net/core/failover.ko:\n\
         kernel/drivers/nvme/host/nvme.ko: kernel/drivers/nvme/host/nvme-core.ko\nkernel/drivers/nvme/host/nvme-core.ko:\nkernel/sound/unrelated.ko:\n",
    )
    .unwrap();
    ver.to_string()
}

/// Unpacks a zstd newc archive into `dst` (regular files, directories and symlinks).
fn extract(initrd: &Path, dst: &Path) -> Vec<String> {
    let mut data = Vec::new();
    zstd::stream::Decoder::new(std::fs::File::open(initrd).unwrap())
        .unwrap()
        .read_to_end(&mut data)
        .unwrap();
    let mut names = Vec::new();
    let mut rest: &[u8] = &data;
    loop {
        let mut r = cpio::NewcReader::new(rest).unwrap();
        if r.entry().is_trailer() {
            break;
        }
        let name = r.entry().name().to_string();
        let mode = r.entry().mode();
        let mut body = Vec::new();
        r.read_to_end(&mut body).unwrap();
        let p = dst.join(&name);
        match mode & 0o170000 {
            0o040000 => std::fs::create_dir_all(&p).unwrap(),
            0o100000 => {
                std::fs::write(&p, &body).unwrap_or_else(|e| panic!("{name}: {e}"));
                std::fs::set_permissions(
                    &p,
                    std::os::unix::fs::PermissionsExt::from_mode(mode & 0o7777),
                )
                .unwrap();
            }
            0o120000 => std::os::unix::fs::symlink(String::from_utf8(body).unwrap(), &p)
                .unwrap_or_else(|e| panic!("{name}: {e}")),
            _ => {}
        }
        names.push(name);
        rest = r.finish().unwrap();
    }
    names
}

#[test]
fn initramfs_carries_agent_busybox_modules_and_working_tools() {
    let tmp = tempfile::tempdir().unwrap();
    let image = tmp.path().join("image");
    let ver = make_image(&image);
    let mut opts = InitramfsOptions::new(&image, &ver, Path::new("/usr/bin/true"));
    opts.compression = Compression::Zstd;
    let out = tmp.path().join("boot/initramfs-luna.img");
    let report = InitramfsBuilder::new(opts).build(&out).unwrap();
    assert_eq!(report.size, std::fs::metadata(&out).unwrap().len());

    let names: Vec<String> = report
        .modules
        .iter()
        .map(|m| module_name(m).unwrap())
        .collect();
    let pos = |n: &str| {
        names
            .iter()
            .position(|x| x == n)
            .unwrap_or_else(|| panic!("{n} not in {names:?}"))
    };
    assert!(pos("failover") < pos("net_failover") && pos("net_failover") < pos("virtio_net"));
    assert!(pos("nvme_core") < pos("nvme"));
    assert!(!names.contains(&"unrelated".to_string()));
    let tools: Vec<&str> = report.tools.iter().map(|(t, _)| t.as_str()).collect();
    assert!(
        tools.contains(&"mkfs.ext4") && tools.contains(&"blkid"),
        "{tools:?}"
    );
    for missing in ["sfdisk", "parted", "mkfs.xfs", "mkfs.vfat", "ipmitool"] {
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.contains(&format!("tool {missing} "))),
            "no warning for {missing}: {:?}",
            report.warnings
        );
    }
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("dynamically linked"))
    );

    let root = tmp.path().join("unpacked");
    std::fs::create_dir_all(&root).unwrap();
    let entries = extract(&out, &root);
    for must in [
        "init",
        "bin",
        "usr/bin/busybox",
        "usr/bin/luna-agent",
        "etc/luna/modules",
        "dev/console",
        // The agent's HTTP client needs CA certificates (here the host's: the image has none).
        "etc/ssl/certs/ca-certificates.crt",
    ] {
        assert!(
            entries.iter().any(|e| e == must),
            "{must} missing from {entries:?}"
        );
    }
    let init = std::fs::read_to_string(root.join("init")).unwrap();
    assert!(
        init.contains("/bin/luna-agent 'boot'") && init.contains("insmod"),
        "{init}"
    );
    let order = std::fs::read_to_string(root.join("etc/luna/modules")).unwrap();
    assert!(order.find("failover.ko").unwrap() < order.find("virtio_net.ko").unwrap());
    // The copied tools run inside the initramfs: their libraries and loader came along.
    for cmd in [
        vec!["/usr/sbin/mkfs.ext4", "-V"],
        vec!["/sbin/blkid", "-V"],
        vec!["/bin/busybox", "true"],
    ] {
        let st = Command::new("chroot")
            .arg(&root)
            .args(&cmd)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{cmd:?} failed in the initramfs: {}",
            String::from_utf8_lossy(&st.stderr)
        );
    }

    // Gzip works as well, and a kernel without modules is a clear error.
    let mut gz = InitramfsOptions::new(&image, &ver, Path::new("/usr/bin/true"));
    gz.compression = Compression::Gzip;
    let gz_out = tmp.path().join("boot/initramfs.gz");
    InitramfsBuilder::new(gz).build(&gz_out).unwrap();
    assert_eq!(&std::fs::read(&gz_out).unwrap()[..2], &[0x1f, 0x8b]);
    let err = InitramfsBuilder::new(InitramfsOptions::new(
        &image,
        "9.9.9",
        Path::new("/usr/bin/true"),
    ))
    .build(&tmp.path().join("x.img"))
    .unwrap_err();
    assert!(
        err.to_string().contains("9.9.9") && err.to_string().contains("--kernver"),
        "{err}"
    );
}
