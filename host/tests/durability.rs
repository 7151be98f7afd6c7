//! The embedded store survives restarts, including SIGKILL in the middle of a large change.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn restart_keeps_everything() {
    let mut d = Daemon::start();
    let img = image_tree(d.dir.path());
    d.seed_cluster(&img);
    d.luna(&["node", "add", "-g", "compute", "--count", "5"])
        .ok();
    d.luna(&["node", "change", "node003", "--mac", "52:54:00:00:00:03"])
        .ok();
    let before = d.snapshot();
    let token = d.token();
    assert_eq!(d.stop().code(), Some(0), "graceful shutdown exits 0");
    d.restart();
    assert_eq!(d.snapshot(), before);
    assert_eq!(d.token(), token, "the token is kept across restarts");
    d.restart();
    assert_eq!(
        d.snapshot(),
        before,
        "a SIGKILLed daemon comes back with the same data"
    );
}

#[test]
fn sigkill_during_a_large_add_leaves_all_or_none() {
    let mut d = Daemon::start();
    let img = image_tree(d.dir.path());
    d.seed_cluster(&img);
    for delay_ms in [150u64, 600] {
        let before = d.json(&["node", "list"]).as_array().unwrap().len();
        let mut add = d
            .cmd()
            .args(["node", "add", "-g", "compute", "--count", "4000"])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        d.kill9();
        let _ = add.wait();
        d.restart();
        let after = d.json(&["node", "list"]).as_array().unwrap().len();
        assert!(
            after == before || after == before + 4000,
            "partial add survived a crash: {before} -> {after}"
        );
        // Addresses match nodes exactly: none leaked, none missing.
        let used = d.json(&["network", "show", "cluster"])["used"]
            .as_u64()
            .unwrap() as usize;
        assert_eq!(
            used,
            after + 1,
            "addresses on 'cluster' = nodes + name server"
        );
    }
}
