//! Running busybox udhcpc in a namespace and reading what its script saw.

use std::collections::HashMap;

use super::netns::Netns;

/// Runs udhcpc once with extra arguments; returns the environment its script saw on "bound".
pub fn udhcpc(ns: &Netns, extra: &[&str]) -> HashMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("env");
    let script = dir.path().join("script.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = bound ] && env > {}\nexit 0\n",
            out.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    let script = script.to_str().unwrap().to_string();
    let mut args = vec![
        "busybox", "udhcpc", "-i", "c0", "-n", "-q", "-f", "-t", "4", "-T", "1", "-s", &script,
    ];
    args.extend_from_slice(extra);
    let res = ns.run(&args);
    assert!(
        res.status.success(),
        "udhcpc failed: {}{}",
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
    parse_env(&std::fs::read_to_string(&out).expect("udhcpc script ran on bound"))
}

pub fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}
