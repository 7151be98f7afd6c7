//! A tiny initramfs (newc cpio, uncompressed) with busybox and an /init script.

fn entry(out: &mut Vec<u8>, ino: u32, name: &str, mode: u32, data: &[u8]) {
    let namesize = name.len() + 1;
    let header = format!(
        "070701{ino:08x}{mode:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{namesize:08x}{:08x}",
        0,
        0,
        1,
        0,
        data.len(),
        0,
        0,
        0,
        0,
        0
    );
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out.extend_from_slice(data);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// busybox at /bin/busybox, `init` as /init.
pub fn build(busybox: &[u8], init: &str) -> Vec<u8> {
    let mut out = Vec::new();
    entry(&mut out, 1, "bin", 0o040755, &[]);
    entry(&mut out, 2, "proc", 0o040755, &[]);
    entry(&mut out, 3, "dev", 0o040755, &[]);
    entry(&mut out, 4, "bin/busybox", 0o100755, busybox);
    entry(&mut out, 5, "init", 0o100755, init.as_bytes());
    entry(&mut out, 0, "TRAILER!!!", 0, &[]);
    out
}
