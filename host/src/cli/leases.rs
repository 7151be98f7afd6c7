//! `luna cluster leases`: the DHCP server's dynamic leases, with the node each MAC belongs to.

use super::client::{CliError, Client};
use super::output::{Columns, Format, print_list};
use serde_json::Value;

const LEASE_COLS: Columns = &[
    ("mac", "mac"),
    ("ip", "ip"),
    ("network", "network"),
    ("node", "node"),
    ("expires", "expires"),
    ("client hostname", "client_hostname"),
];

pub async fn leases(c: &Client, f: Format) -> Result<(), CliError> {
    let mut list = c.get("/cluster/leases").await?;
    if f == Format::Table {
        // The table shows the expiry as a time; JSON and YAML keep the raw fields.
        let now = crate::boot::unix_now();
        for l in list.as_array_mut().into_iter().flatten() {
            let at = l["expires_unix"].as_u64().unwrap_or(0);
            l["expires"] = Value::String(expiry(at, now));
        }
    }
    print_list(f, &list, LEASE_COLS);
    Ok(())
}

/// `2026-11-26T05:12:00Z (in 58m)` or `... (expired)`.
fn expiry(at: u64, now: u64) -> String {
    let when = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(at),
    );
    if at <= now {
        return format!("{when} (expired)");
    }
    let left = at - now;
    let rel = match left {
        0..60 => format!("{left}s"),
        60..3600 => format!("{}m", left / 60),
        _ => format!("{}h{:02}m", left / 3600, left % 3600 / 60),
    };
    format!("{when} (in {rel})")
}

#[cfg(test)]
mod tests {
    use super::expiry;

    #[test]
    fn expiry_reads_as_time_and_remaining() {
        assert_eq!(expiry(3_600, 0), "1970-01-01T01:00:00Z (in 1h00m)");
        assert_eq!(expiry(90, 30), "1970-01-01T00:01:30Z (in 1m)");
        assert_eq!(expiry(10, 20), "1970-01-01T00:00:10Z (expired)");
    }
}
