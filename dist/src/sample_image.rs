//! A small but real image tree for tests and the swarm benchmark: a busybox-static root with
//! every kind of file an OS image holds (device nodes, a FIFO, hard links, symlinks, a setuid
//! binary, files owned by other users, user/trusted xattrs, POSIX access and default ACLs),
//! plus optional incompressible filler so the packed image has a chosen size.
//! Building it needs root (device nodes, owners, trusted xattrs).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rand::RngCore;

/// Where busybox comes from on a host with Debian's `busybox-static`.
pub const HOST_BUSYBOX: &str = "/bin/busybox";

// POSIX ACL xattr encoding (linux/posix_acl_xattr.h): a version word, then (tag, perm, id).
const ACL_USER_OBJ: u16 = 0x01;
const ACL_USER: u16 = 0x02;
const ACL_GROUP_OBJ: u16 = 0x04;
const ACL_MASK: u16 = 0x10;
const ACL_OTHER: u16 = 0x20;
const ACL_UNDEFINED_ID: u32 = u32::MAX;

/// Encodes a POSIX ACL as the `system.posix_acl_*` xattr value.
pub fn posix_acl_xattr(entries: &[(u16, u16, u32)]) -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in entries {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&id.to_le_bytes());
    }
    v
}

/// `u::rw-,u:1000:r--,g::r--,m::r--,o::---`
pub fn sample_acl() -> Vec<u8> {
    posix_acl_xattr(&[
        (ACL_USER_OBJ, 6, ACL_UNDEFINED_ID),
        (ACL_USER, 4, 1000),
        (ACL_GROUP_OBJ, 4, ACL_UNDEFINED_ID),
        (ACL_MASK, 4, ACL_UNDEFINED_ID),
        (ACL_OTHER, 0, ACL_UNDEFINED_ID),
    ])
}

fn ctx<T>(r: std::io::Result<T>, what: &str, p: &Path) -> std::io::Result<T> {
    r.map_err(|e| std::io::Error::new(e.kind(), format!("{what} {}: {e}", p.display())))
}

/// Builds the sample image at `root` (created if missing) with `filler_bytes` of random data.
pub fn build_sample_image(root: &Path, busybox: &Path, filler_bytes: u64) -> std::io::Result<()> {
    let p = |rel: &str| -> PathBuf { root.join(rel) };
    for d in [
        "bin",
        "sbin",
        "dev",
        "etc",
        "home/user",
        "run",
        "srv/shared",
        "tmp",
        "var/lib/filler",
        "boot",
        "lib/modules",
    ] {
        ctx(std::fs::create_dir_all(p(d)), "creating", &p(d))?;
    }
    ctx(
        std::fs::copy(busybox, p("bin/busybox")),
        "copying busybox to",
        &p("bin/busybox"),
    )?;
    std::fs::set_permissions(p("bin/busybox"), std::fs::Permissions::from_mode(0o755))?;
    for applet in ["sh", "ls", "cat", "mount"] {
        std::os::unix::fs::symlink("busybox", p(&format!("bin/{applet}")))?;
    }
    std::os::unix::fs::symlink("../bin/busybox", p("sbin/init"))?;
    // Hard links: a second name of busybox, and of a small file.
    std::fs::hard_link(p("bin/busybox"), p("sbin/busybox-link"))?;
    std::fs::write(p("etc/hostname"), b"sample\n")?;
    std::fs::hard_link(p("etc/hostname"), p("etc/hostname.hard"))?;
    std::fs::write(
        p("etc/passwd"),
        b"root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n",
    )?;
    // setuid root binary.
    std::fs::copy(busybox, p("bin/su"))?;
    std::fs::set_permissions(p("bin/su"), std::fs::Permissions::from_mode(0o4755))?;
    // Owned by someone else, setgid directory, sticky /tmp.
    std::fs::write(p("home/user/notes.txt"), b"mine\n")?;
    std::os::unix::fs::chown(p("home/user/notes.txt"), Some(1000), Some(1000))?;
    std::os::unix::fs::chown(p("home/user"), Some(1000), Some(1000))?;
    std::fs::set_permissions(p("home/user"), std::fs::Permissions::from_mode(0o2750))?;
    std::fs::set_permissions(p("tmp"), std::fs::Permissions::from_mode(0o1777))?;
    // Device nodes and a FIFO.
    let node = |rel: &str, ft: rustix::fs::FileType, mode: u32, major: u32, minor: u32| {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            p(rel),
            ft,
            rustix::fs::Mode::from_raw_mode(mode),
            rustix::fs::makedev(major, minor),
        )
        .map_err(|e| std::io::Error::other(format!("mknod {}: {e}", p(rel).display())))
    };
    node(
        "dev/null",
        rustix::fs::FileType::CharacterDevice,
        0o666,
        1,
        3,
    )?;
    node("dev/sda", rustix::fs::FileType::BlockDevice, 0o660, 8, 0)?;
    node("run/initctl", rustix::fs::FileType::Fifo, 0o600, 0, 0)?;
    std::fs::set_permissions(p("dev/null"), std::fs::Permissions::from_mode(0o666))?;
    std::os::unix::fs::chown(p("dev/sda"), Some(0), Some(6))?;
    // xattrs and ACLs.
    std::fs::write(p("etc/labelled"), b"has xattrs\n")?;
    ctx(
        xattr::set(p("etc/labelled"), "user.luna.origin", b"sample"),
        "setting user xattr on",
        &p("etc/labelled"),
    )?;
    ctx(
        xattr::set(p("etc/labelled"), "trusted.luna.binary", &[0u8, 1, 2, 255]),
        "setting trusted xattr on",
        &p("etc/labelled"),
    )?;
    std::fs::write(p("etc/acl-file"), b"acl protected\n")?;
    ctx(
        xattr::set(p("etc/acl-file"), "system.posix_acl_access", &sample_acl()),
        "setting an ACL on",
        &p("etc/acl-file"),
    )?;
    ctx(
        xattr::set(p("srv/shared"), "system.posix_acl_default", &sample_acl()),
        "setting a default ACL on",
        &p("srv/shared"),
    )?;
    // Names past the 100-byte tar limit, for the GNU long-name records.
    let deep = p(
        "srv/a-rather-long-directory-name-to-exceed-the-classic-tar-limit/and-another-long-component-here",
    );
    std::fs::create_dir_all(&deep)?;
    std::fs::write(deep.join("file-with-a-long-name-as-well.txt"), b"deep\n")?;
    std::os::unix::fs::symlink(
        "../srv/a-rather-long-directory-name-to-exceed-the-classic-tar-limit/and-another-long-component-here/file-with-a-long-name-as-well.txt",
        p("etc/long-link"),
    )?;
    // A kernel layout so kernel detection sees something.
    std::fs::write(p("boot/vmlinuz-6.1.0-sample"), b"not really a kernel")?;
    std::fs::create_dir_all(p("lib/modules/6.1.0-sample/kernel"))?;
    // Incompressible filler in 4 MiB files.
    let mut left = filler_bytes;
    let mut i = 0;
    let mut rng = rand::rng();
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let this = left.min(4 << 20);
        let path = p(&format!("var/lib/filler/blob-{i:04}"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let mut w = 0;
        while w < this {
            let n = (this - w).min(buf.len() as u64) as usize;
            rng.fill_bytes(&mut buf[..n]);
            f.write_all(&buf[..n])?;
            w += n as u64;
        }
        f.flush()?;
        left -= this;
        i += 1;
    }
    Ok(())
}
