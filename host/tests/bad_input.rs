//! Every bad input gets a clear error naming the object and the fix, a non-zero exit code, and
//! leaves the cluster exactly as it was.

mod common;
use common::*;

/// Runs a failing command and checks the code, the message and that nothing changed.
#[track_caller]
fn refused(d: &Daemon, args: &[&str], code: i32, needles: &[&str]) {
    let before = d.snapshot();
    d.luna(args).fails(code, needles);
    assert_eq!(
        d.snapshot(),
        before,
        "`luna {}` changed state although it failed",
        args.join(" ")
    );
}

#[test]
fn bad_input_is_refused_without_side_effects() {
    let d = Daemon::start();
    // Before init, writes explain what to do.
    d.luna(&["network", "add", "-n", "x", "-N", "10.0.0.0/8"])
        .fails(3, &["luna cluster init"]);
    let img = image_tree(d.dir.path());
    d.seed_cluster(&img);
    d.luna(&["node", "add", "-g", "compute", "--mac", "52:54:00:00:00:01"])
        .ok();

    // Duplicates and renames onto existing names.
    refused(
        &d,
        &["network", "add", "-n", "cluster", "-N", "10.200.0.0/16"],
        5,
        &["network 'cluster' already exists"],
    );
    refused(
        &d,
        &["group", "add", "-n", "compute", "-O", "compute"],
        5,
        &["group 'compute' already exists"],
    );
    refused(
        &d,
        &["osimage", "rename", "compute", "compute"],
        5,
        &["already exists"],
    );
    d.luna(&["bmcsetup", "add", "-n", "other"]).ok();
    refused(
        &d,
        &["bmcsetup", "rename", "other", "base"],
        5,
        &["bmcsetup 'base' already exists"],
    );
    refused(
        &d,
        &["node", "add", "-g", "compute", "-n", "node001"],
        5,
        &["node 'node001' already exists"],
    );

    // Overlapping networks, malformed CIDRs.
    refused(
        &d,
        &["network", "add", "-n", "inner", "-N", "10.141.5.0/24"],
        5,
        &["overlaps network 'cluster'"],
    );
    refused(
        &d,
        &["network", "add", "-n", "outer", "-N", "10.0.0.0/8"],
        5,
        &["overlaps"],
    );
    refused(
        &d,
        &["network", "add", "-n", "bad", "-N", "10.300.0.0/16"],
        3,
        &["not a valid network", "10.141.0.0/16"],
    );
    refused(
        &d,
        &["network", "add", "-n", "bad", "-N", "10.5.0.0"],
        3,
        &["prefix"],
    );

    // Addresses outside their network or already taken.
    refused(
        &d,
        &[
            "node",
            "change",
            "node001",
            "-i",
            "BOOTIF",
            "--ip",
            "10.142.0.5",
        ],
        3,
        &["not a host address of network 'cluster'"],
    );
    d.luna(&["node", "add", "-g", "compute"]).ok();
    refused(
        &d,
        &[
            "node",
            "change",
            "node002",
            "-i",
            "BOOTIF",
            "--ip",
            "10.141.0.1",
        ],
        5,
        &["10.141.0.1", "already taken"],
    );
    refused(
        &d,
        &[
            "switch",
            "add",
            "-n",
            "sw2",
            "-N",
            "ipmi",
            "--ip",
            "10.149.253.1",
        ],
        5,
        &["already taken"],
    );
    refused(
        &d,
        &[
            "otherdev",
            "add",
            "-n",
            "pdu",
            "-N",
            "ipmi",
            "--ip",
            "10.150.0.1",
        ],
        3,
        &["not a host address"],
    );
    refused(
        &d,
        &["node", "change", "node001", "--ip", "BOOTIF=not-an-ip"],
        3,
        &["not an IP address"],
    );

    // Malformed and duplicate MACs.
    refused(
        &d,
        &["node", "change", "node002", "--mac", "52:54:00:00:01"],
        3,
        &["not a MAC address", "aa:bb:cc:dd:ee:ff"],
    );
    refused(
        &d,
        &["node", "change", "node002", "--mac", "52-54-00-00-00-01"],
        5,
        &["already belongs to node 'node001'"],
    );

    // Malformed hostlists and names.
    refused(
        &d,
        &["node", "add", "-g", "compute", "-n", "node[5-"],
        3,
        &["hostlist"],
    );
    refused(
        &d,
        &["node", "add", "-g", "compute", "-n", "Node_1"],
        3,
        &["not valid", "lower-case"],
    );

    // Deleting objects still in use.
    refused(
        &d,
        &["network", "delete", "cluster"],
        5,
        &["still used by group 'compute'"],
    );
    refused(
        &d,
        &["osimage", "delete", "compute"],
        5,
        &["still used by group 'compute'"],
    );
    refused(
        &d,
        &["bmcsetup", "delete", "base"],
        5,
        &["still used by group 'compute'"],
    );
    refused(
        &d,
        &["group", "delete", "compute"],
        5,
        &["still has 2 node(s)"],
    );
    d.luna(&["node", "change", "node001", "-s", "switch01"])
        .ok();
    refused(
        &d,
        &["switch", "delete", "switch01"],
        5,
        &["still set on node 'node001'"],
    );

    // Unknown objects.
    refused(
        &d,
        &["node", "show", "node999"],
        4,
        &["node 'node999' does not exist"],
    );
    refused(
        &d,
        &["node", "add", "-g", "nogroup"],
        4,
        &["group 'nogroup' does not exist"],
    );
    refused(
        &d,
        &[
            "group", "change", "compute", "-i", "BMC", "--setnet", "nonet",
        ],
        4,
        &["network 'nonet' does not exist"],
    );
    refused(
        &d,
        &["osimage", "add", "-n", "img2", "-p", "/nonexistent/tree"],
        3,
        &["not a directory"],
    );

    // An IPv6 network where IPv4 belongs.
    d.luna(&["network", "add", "-n", "v6", "-N", "fd00::/64"])
        .ok();
    refused(
        &d,
        &[
            "group", "change", "compute", "-i", "BOOTIF", "--setnet", "v6",
        ],
        3,
        &["not IPv4", "--setnet6"],
    );
}

#[test]
fn running_out_of_addresses_adds_nothing() {
    let d = Daemon::start();
    let img = image_tree(d.dir.path());
    d.luna(&["cluster", "init"]).ok();
    // A /29 has 6 host addresses; one is the name server: 5 left.
    d.luna(&["network", "add", "-n", "tiny", "-N", "10.99.1.0/29"])
        .ok();
    d.luna(&["osimage", "add", "-n", "img", "-p", img.to_str().unwrap()])
        .ok();
    d.luna(&["group", "add", "-n", "g", "-O", "img", "-N", "tiny"])
        .ok();
    let before = d.snapshot();
    d.luna(&["node", "add", "-g", "g", "-n", "node[001-010]"])
        .fails(
            5,
            &["network 'tiny'", "no free address", "no node was added"],
        );
    assert_eq!(d.snapshot(), before);
    // A /30 (2 hosts, 1 for the name server) in the middle of a group with two interfaces.
    d.luna(&["network", "add", "-n", "p2p", "-N", "10.99.2.0/30"])
        .ok();
    d.luna(&["group", "change", "g", "-i", "BMC", "--setnet", "p2p"])
        .ok();
    let before = d.snapshot();
    d.luna(&["node", "add", "-g", "g", "-n", "node[001-010]"])
        .fails(5, &["network 'p2p'", "no free address"]);
    assert_eq!(d.snapshot(), before);
    d.luna(&["node", "add", "-g", "g", "-n", "node001"]).ok();
    assert_eq!(d.json(&["node", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn writes_need_the_token_and_the_store_must_be_writable() {
    let d = Daemon::start();
    // Reads on loopback are open; writes without a token are refused with exit code 6.
    let mut c = d.cmd();
    c.env("LUNA_DATA_DIR", "/nonexistent")
        .args(["cluster", "init"]);
    let r = run_of(c.output().unwrap());
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("needs the API token"), "{}", r.stderr);
    let mut c = d.cmd();
    c.env("LUNA_TOKEN", "wrong-token").args(["cluster", "init"]);
    let r = run_of(c.output().unwrap());
    assert_eq!(r.code, 6);
    assert!(r.stderr.contains("token is wrong"), "{}", r.stderr);
    d.luna(&["cluster", "show"]).fails(3, &["not initialised"]);
    // The token file is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(d.data_dir().join("token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // A data directory that cannot be written: a path below a regular file.
    let file = d.dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let out = std::process::Command::new(LUNA)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(file.join("data"))
        .output()
        .unwrap();
    let r = run_of(out);
    assert_eq!(r.code, 7);
    assert!(
        r.stderr.contains("is not writable") && r.stderr.contains("--data-dir"),
        "{}",
        r.stderr
    );

    // Unreachable daemon: exit 7 with a hint.
    let mut c = d.cmd();
    c.env("LUNA_URL", "http://127.0.0.1:1")
        .args(["node", "list"]);
    let r = run_of(c.output().unwrap());
    assert_eq!(r.code, 7);
    assert!(
        r.stderr.contains("cannot reach the Luna daemon"),
        "{}",
        r.stderr
    );
    // Usage errors are clap's exit code 2.
    assert_eq!(
        d.luna(&["node", "change", "node001", "--localboot", "maybe"])
            .code,
        2
    );
}
