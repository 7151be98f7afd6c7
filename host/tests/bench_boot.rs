//! Smoke test of `luna bench boot` at a tiny size with both load generators: the daemon's whole
//! HTTP app answers every request of the storm (ipxe, plan, announce) without a failure. The
//! real numbers come from the default size: `luna bench boot` (10,000 nodes, wrk).

use std::process::Command;

/// Runs the bench and returns (requests, requests/s) from its summary line.
fn storm(client: &str) -> (u64, f64) {
    let out = Command::new(env!("CARGO_BIN_EXE_luna"))
        .args(["bench", "boot", "--nodes", "50", "--concurrency", "8"])
        .args(["--duration", "1", "--client", client])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "luna bench boot --client {client}: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout
        .lines()
        .find(|l| l.contains("requests/s"))
        .unwrap_or_else(|| panic!("no summary line in {stdout}"));
    let words: Vec<&str> = summary.split_whitespace().collect();
    let requests = words[0].parse().unwrap();
    let rps = words[words.iter().position(|w| *w == "requests/s,").unwrap() - 1]
        .parse()
        .unwrap();
    assert!(
        summary.contains(&format!(
            "load: {}",
            if client == "wrk" {
                "wrk"
            } else {
                "built-in client"
            }
        )),
        "{summary}"
    );
    (requests, rps)
}

#[test]
fn boot_storm_bench_runs_with_wrk_and_with_the_builtin_client() {
    // The built-in client sends exactly one round: 50 nodes × 3 routes.
    let (requests, rps) = storm("builtin");
    assert_eq!(requests, 150);
    assert!(rps > 0.0);
    // wrk keeps the nodes asking for the whole second: more than one round, none failed
    // (a failure makes the bench exit non-zero).
    let (requests, rps) = storm("wrk");
    assert!(requests > 150, "wrk sent only {requests} requests");
    assert!(rps > 0.0);
}
