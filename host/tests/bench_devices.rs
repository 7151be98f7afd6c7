//! Smoke test of `luna bench power` and `luna bench switches` at a tiny size: each starts its own
//! simulators, measures Luna and the sequential command-line baseline in one run, and reports
//! rows as JSON. The real numbers come from the default sizes (256 BMCs, 16 switches):
//! `luna bench power --plugins DIR` and `luna bench switches --plugins DIR`.

mod sims;

use serde_json::Value;
use std::process::Command;

fn bench(args: &[&str]) -> Vec<Value> {
    let plugins = sims::wasm("ipmi-power");
    let plugins = plugins.parent().unwrap().to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_luna"))
        .arg("bench")
        .args(args)
        .args(["--plugins", plugins, "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "luna bench {args:?}: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn bench_power_and_switches_run_at_a_tiny_size() {
    let power = bench(&["power", "--bmcs", "2"]);
    let what: Vec<&str> = power.iter().map(|r| r["what"].as_str().unwrap()).collect();
    assert_eq!(
        what,
        [
            "luna node power status --concurrency 2",
            "ipmitool, one BMC after another (IPMI BMCs only)",
            "ipmitool sequentially, extrapolated to all",
        ]
    );
    assert_eq!(power[0]["devices"], 2);
    assert_eq!(power[1]["devices"], 1);
    assert!(power.iter().all(|r| r["seconds"].as_f64().unwrap() > 0.0));

    let switches = bench(&["switches", "--switches", "1", "--cycles", "1"]);
    assert_eq!(switches.len(), 3);
    assert!(
        switches[0]["what"]
            .as_str()
            .unwrap()
            .starts_with("luna poll cycle")
    );
    assert!(
        switches[2]["what"]
            .as_str()
            .unwrap()
            .starts_with("snmpbulkwalk")
    );
    assert!(switches.iter().all(|r| r["devices"] == 1));
}
