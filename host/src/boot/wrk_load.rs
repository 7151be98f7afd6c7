//! The boot storm's load generator when `wrk` is installed: a separate C process, so the
//! daemon's cores are not shared with a Rust HTTP client that costs about as much per request
//! as the server (the built-in client measured 13–18k requests/s where wrk measures the
//! server alone). A Lua script walks the list of request paths, each wrk thread from its own
//! offset, and prints the summary as one JSON line.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::time::Duration;

/// What one wrk run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkSummary {
    pub requests: u64,
    pub seconds: f64,
    /// Socket errors and non-2xx/3xx answers.
    pub failed: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

const SCRIPT: &str = r#"
local paths = {}
for line in io.lines(os.getenv("LUNA_WRK_PATHS")) do paths[#paths + 1] = line end
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
local at = 0
function init(args)
  -- Threads start far apart in the list, so they play different nodes.
  at = (id * 7919) % #paths
end
function request()
  at = at % #paths + 1
  return wrk.format("GET", paths[at])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "LUNA-WRK {\"requests\":%d,\"duration_us\":%d,\"failed\":%d,\"p50_us\":%d,\"p99_us\":%d,\"max_us\":%d}\n",
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"#;

/// Whether `wrk` is on the PATH.
pub fn available() -> bool {
    std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok()
}

/// Runs wrk against `base` (`http://host:port`) for `duration` with `connections` keep-alive
/// connections on two threads, requesting `paths` round-robin. `dir` holds the script and list.
pub async fn run(
    base: &str,
    paths: &[String],
    connections: usize,
    duration: Duration,
    dir: &Path,
) -> Result<WrkSummary> {
    let list = dir.join("wrk-paths.txt");
    std::fs::write(&list, paths.join("\n") + "\n")?;
    let script = dir.join("storm.lua");
    std::fs::write(&script, SCRIPT)?;
    let out = tokio::process::Command::new("wrk")
        .env("LUNA_WRK_PATHS", &list)
        .args(["-t", "2", "-c", &connections.max(2).to_string()])
        .arg("-d")
        .arg(format!("{}s", duration.as_secs().max(1)))
        .args(["--timeout", "5s", "-s"])
        .arg(&script)
        .arg(base)
        .output()
        .await
        .context("starting wrk (apt install wrk)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "wrk failed ({}): {}{}",
            out.status,
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    parse(&stdout)
}

fn parse(stdout: &str) -> Result<WrkSummary> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("LUNA-WRK "))
        .with_context(|| format!("wrk printed no summary: {stdout}"))?;
    let v: serde_json::Value =
        serde_json::from_str(line).with_context(|| format!("wrk's summary is not JSON: {line}"))?;
    let num = |k: &str| v.get(k).and_then(serde_json::Value::as_f64).unwrap_or(0.0);
    Ok(WrkSummary {
        requests: num("requests") as u64,
        seconds: num("duration_us") / 1e6,
        failed: num("failed") as u64,
        p50_ms: num("p50_us") / 1e3,
        p99_ms: num("p99_us") / 1e3,
        max_ms: num("max_us") / 1e3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_summary_line_among_wrk_output() {
        let out = "Running 1s test @ http://127.0.0.1:1\n  2 threads and 8 connections\n\
                   LUNA-WRK {\"requests\":2000,\"duration_us\":1000000,\"failed\":3,\"p50_us\":1500,\"p99_us\":9000,\"max_us\":12000}\n";
        let s = parse(out).unwrap();
        assert_eq!(s.requests, 2000);
        assert_eq!(s.failed, 3);
        assert!((s.seconds - 1.0).abs() < 1e-9);
        assert!((s.p99_ms - 9.0).abs() < 1e-9);
        assert!(parse("no summary here").is_err());
    }
}
