//! Packs a real busybox-static tree with every special file kind and checks the unpacked tree
//! is identical. Needs root and /bin/busybox (Debian's busybox-static).

use std::path::Path;
use std::sync::{Arc, Mutex};

use luna_dist::manifest::{ManifestKind, manifest_diff, tree_manifest};
use luna_dist::sample_image::{HOST_BUSYBOX, build_sample_image, sample_acl};
use luna_dist::{ImagePacker, PackOptions, detect_kernels, unpack};

#[tokio::test]
async fn pack_then_unpack_restores_the_tree_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    build_sample_image(&src, Path::new(HOST_BUSYBOX), 3 << 20).unwrap();
    let out = tmp.path().join("images");
    let progress = Arc::new(Mutex::new(Vec::new()));
    let seen = progress.clone();
    let packed = ImagePacker::new(PackOptions::new(
        "sample",
        &src,
        &out,
        "http://127.0.0.1:1/announce",
    ))
    .pack(move |p| seen.lock().unwrap().push(p))
    .await
    .unwrap();
    assert!(packed.tarball.ends_with("sample.tar.zst") && packed.tarball.is_file());
    assert!(packed.torrent.ends_with("sample.torrent") && packed.torrent.is_file());
    assert_eq!(
        packed.size,
        std::fs::metadata(&packed.tarball).unwrap().len()
    );
    // A small image gets small pieces (~1500 of them, at least one 16 KiB block).
    assert_eq!(
        packed.piece_length,
        luna_dist::pack::choose_piece_length(packed.size)
    );
    assert!((16 * 1024..=256 * 1024).contains(&packed.piece_length));
    let p = progress.lock().unwrap().clone();
    assert_eq!(p.first().unwrap().bytes_done, 0);
    let last = p.last().unwrap();
    assert_eq!(last.bytes_done, last.bytes_total);
    assert_eq!(last.bytes_total, packed.content_bytes);
    // No temporary files are left beside the artefacts.
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    let dst = tmp.path().join("dst");
    let stats = unpack(&packed.tarball, &dst).unwrap();
    assert_eq!(stats.entries, packed.entries);
    let a = tree_manifest(&src, &[]).unwrap();
    let b = tree_manifest(&dst, &[]).unwrap();
    let diff = manifest_diff(&a, &b);
    assert!(diff.is_empty(), "trees differ:\n{}", diff.join("\n"));

    // The manifest really covers what the test is about.
    let e = |p: &str| b.get(Path::new(p)).unwrap_or_else(|| panic!("{p} missing"));
    assert!(matches!(
        e("dev/null").kind,
        ManifestKind::CharDevice { .. }
    ));
    assert!(matches!(
        e("dev/sda").kind,
        ManifestKind::BlockDevice { .. }
    ));
    assert!(matches!(e("run/initctl").kind, ManifestKind::Fifo));
    assert_eq!(e("bin/su").mode, 0o4755);
    assert_eq!(e("tmp").mode, 0o1777);
    assert_eq!(
        (e("home/user/notes.txt").uid, e("home/user/notes.txt").gid),
        (1000, 1000)
    );
    assert!(
        matches!(&e("sbin/busybox-link").kind, ManifestKind::Regular { link_group: Some(g), .. } if g == Path::new("bin/busybox"))
    );
    assert!(
        matches!(&e("bin/sh").kind, ManifestKind::Symlink { target } if target == Path::new("busybox"))
    );
    assert_eq!(
        e("etc/labelled").xattrs.get("user.luna.origin").unwrap(),
        b"sample"
    );
    assert_eq!(
        e("etc/labelled").xattrs.get("trusted.luna.binary").unwrap(),
        &[0u8, 1, 2, 255]
    );
    assert_eq!(
        e("etc/acl-file")
            .xattrs
            .get("system.posix_acl_access")
            .unwrap(),
        &sample_acl()
    );
    assert!(
        e("srv/shared")
            .xattrs
            .contains_key("system.posix_acl_default")
    );
    assert_eq!(detect_kernels(&dst).unwrap()[0].version, "6.1.0-sample");
}

#[tokio::test]
async fn repack_replaces_artefacts_and_bad_input_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("etc")).unwrap();
    std::fs::write(src.join("etc/version"), b"1").unwrap();
    let out = tmp.path().join("images");
    let packer = ImagePacker::new(PackOptions::new(
        "img",
        &src,
        &out,
        "http://127.0.0.1:1/announce",
    ));
    let first = packer.pack(|_| {}).await.unwrap();
    std::fs::write(src.join("etc/version"), b"2").unwrap();
    let second = packer.pack(|_| {}).await.unwrap();
    assert_ne!(first.info_hash, second.info_hash);
    assert_eq!(first.tarball, second.tarball);
    let dst = tmp.path().join("dst");
    unpack(&second.tarball, &dst).unwrap();
    assert_eq!(std::fs::read(dst.join("etc/version")).unwrap(), b"2");

    let err = ImagePacker::new(PackOptions::new("../evil", &src, &out, "http://x/announce"))
        .pack(|_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("../evil"), "{err}");
    let err = ImagePacker::new(PackOptions::new(
        "img",
        &tmp.path().join("nope"),
        &out,
        "http://x/announce",
    ))
    .pack(|_| {})
    .await
    .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    // A failed pack leaves the previous artefacts alone.
    assert!(second.tarball.is_file() && second.torrent.is_file());
    luna_dist::pack::remove_artefacts(&out, "img").unwrap();
    assert!(!second.tarball.exists() && !second.torrent.exists());
}

#[test]
fn unpack_refuses_paths_escaping_the_target() {
    let tmp = tempfile::tempdir().unwrap();
    let mut data = Vec::new();
    {
        let mut b = tar::Builder::new(&mut data);
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // Write the raw name: the builder itself refuses `..`.
        h.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
        h.set_cksum();
        b.append(&h, &b"x"[..]).unwrap();
        b.finish().unwrap();
    }
    let err =
        luna_dist::unpack::unpack_tar(&data[..], Path::new("evil.tar"), &tmp.path().join("t"))
            .unwrap_err();
    assert!(err.to_string().contains("../escape"), "{err}");
    assert!(!tmp.path().join("escape").exists());
}
