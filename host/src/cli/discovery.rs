//! `luna cluster listmacs`, `luna switch show S [--macs]` and `luna node power`.

use super::args::PowerArgs;
use super::client::{CliError, Client};
use super::output::{Columns, Format, print_list, print_object, print_raw};
use super::seg;
use crate::service::{PowerRequest, PowerVerb};
use serde_json::Value;

const MAC_COLS: Columns = &[
    ("mac", "mac"),
    ("switch", "switch"),
    ("port", "bridge_port"),
    ("interface", "interface"),
    ("vlan", "vlan"),
    ("age (s)", "age"),
    ("node", "node"),
    ("binding", "binding"),
];

const POWER_COLS: Columns = &[
    ("node", "node"),
    ("result", "result"),
    ("state", "state"),
    ("bmc", "bmc"),
    ("plugin", "plugin"),
    ("ms", "ms"),
    ("error", "error"),
];

/// Exit code when a power action failed on at least one node (documented in client.rs).
pub const PARTIAL_FAILURE: i32 = 8;

pub async fn listmacs(c: &Client, f: Format) -> Result<(), CliError> {
    print_list(f, &c.get("/cluster/macs").await?, MAC_COLS);
    Ok(())
}

pub async fn switch_show(c: &Client, f: Format, name: &str, macs: bool) -> Result<(), CliError> {
    let switch = c.get(&format!("/switches/{}", seg(name))).await?;
    let discovery = c
        .get(&format!("/switches/{}/discovery?macs={macs}", seg(name)))
        .await?;
    match f {
        Format::Table => {
            print_object(f, &switch);
            println!("last poll:");
            let mut status = discovery["status"].clone();
            if let Some(s) = status.as_object_mut() {
                s.remove("switch");
            }
            print_object(f, &status);
            if macs {
                print_list(f, &discovery["macs"], MAC_COLS);
            }
        }
        _ => {
            let mut all = switch;
            all["poll"] = discovery["status"].clone();
            if macs {
                all["macs"] = discovery["macs"].clone();
            }
            print_raw(f, &all);
        }
    }
    Ok(())
}

pub async fn power(c: &Client, f: Format, mut a: PowerArgs) -> Result<(), CliError> {
    let verb = |word: &str| serde_json::from_value::<PowerVerb>(Value::String(word.into())).ok();
    let action = match verb(&a.action) {
        Some(action) => action,
        // `luna node power NODES --pxe`: the one word is the nodes.
        None if a.pxe && a.nodes.is_none() => {
            a.nodes = Some(std::mem::replace(&mut a.action, "pxe".into()));
            PowerVerb::Pxe
        }
        None => {
            return Err(CliError::new(
                2,
                format!(
                    "unknown power action '{}': use status, on, off, reset, cycle, identify or pxe",
                    a.action
                ),
            ));
        }
    };
    if a.nodes.is_none() && a.group.is_none() {
        return Err(CliError::new(
            2,
            "name the nodes (e.g. node[001-064]) or a group with -g GROUP",
        ));
    }
    let req = PowerRequest {
        action,
        nodes: a.nodes,
        group: a.group,
        concurrency: a.concurrency,
        off: a.off,
        pxe: a.pxe,
    };
    let mut report = c.post("/power", &req).await?;
    if let Some(results) = report["results"].as_array_mut() {
        for r in results {
            let ok = r["ok"].as_bool().unwrap_or(false);
            r["result"] = Value::String(if ok { "ok" } else { "FAILED" }.into());
        }
    }
    match f {
        Format::Table => print_list(f, &report["results"], POWER_COLS),
        _ => print_raw(f, &report),
    }
    let failed = report["failed"].as_u64().unwrap_or(0);
    if failed > 0 {
        let total = report["results"].as_array().map_or(0, Vec::len);
        let names: Vec<&str> = report["results"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|r| r["ok"] == Value::Bool(false))
            .filter_map(|r| r["node"].as_str())
            .collect();
        return Err(CliError::new(
            PARTIAL_FAILURE,
            format!(
                "power {} failed on {failed} of {total} node(s): {}",
                a.action,
                names.join(",")
            ),
        ));
    }
    Ok(())
}
