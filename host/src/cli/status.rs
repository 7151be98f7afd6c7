//! `luna node status [NODES] [--watch]` (a table of nodes by install step with progress bars,
//! redrawn in place on a terminal) and the install/inventory parts of `luna node show`.

use super::client::{CliError, Client};
use super::output::{Format, print_object, print_raw};
use super::seg;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use luna_proto::status::{Inventory, NodeStatus, StepState};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

const BAR_WIDTH: usize = 20;

async fn fetch(c: &Client, nodes: Option<&str>) -> Result<Vec<NodeStatus>, CliError> {
    let path = match nodes {
        Some(n) => format!("/nodes/status?nodes={}", seg(n)),
        None => "/nodes/status".to_string(),
    };
    serde_json::from_value(c.get(&path).await?).map_err(|e| {
        CliError::new(
            7,
            format!("the daemon's status answer does not decode: {e}"),
        )
    })
}

pub async fn status(
    c: &Client,
    f: Format,
    nodes: Option<String>,
    watch: bool,
    interval: f64,
) -> Result<(), CliError> {
    let every = Duration::try_from_secs_f64(interval)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            CliError::new(
                3,
                format!("--interval must be a positive number of seconds, got {interval}"),
            )
        })?;
    if !watch {
        let rows = fetch(c, nodes.as_deref()).await?;
        match f {
            Format::Table => println!("{}", table(&rows)),
            _ => print_raw(f, &serde_json::to_value(&rows).unwrap_or_default()),
        }
        return Ok(());
    }
    let tty = f == Format::Table && std::io::stdout().is_terminal();
    let mut drawn_lines = 0usize;
    let mut last_line: HashMap<String, String> = HashMap::new();
    loop {
        let rows = fetch(c, nodes.as_deref()).await?;
        let mut out = std::io::stdout().lock();
        if tty {
            let text = table(&rows).to_string();
            // Move up over the previous drawing and clear it, then draw the new table.
            if drawn_lines > 0 {
                let _ = write!(out, "\x1b[{drawn_lines}A\x1b[J");
            }
            let _ = writeln!(out, "{text}");
            drawn_lines = text.lines().count();
        } else {
            // Not a terminal: one line per node whenever what it shows changes.
            for r in &rows {
                let line = match f {
                    Format::Table => plain_line(r),
                    _ => serde_json::to_string(r).unwrap_or_default(),
                };
                let key = plain_line(r);
                if last_line.get(&r.node) != Some(&key) {
                    let _ = writeln!(out, "{line}");
                    last_line.insert(r.node.clone(), key);
                }
            }
        }
        let _ = out.flush();
        drop(out);
        if !rows.is_empty() && rows.iter().all(finished) {
            return Ok(());
        }
        tokio::time::sleep(every).await;
    }
}

/// A node whose install ended: succeeded, failed, or its service-mode inventory is posted.
fn finished(r: &NodeStatus) -> bool {
    r.current.as_ref().is_some_and(|c| {
        c.state == StepState::Failed
            || (c.state == StepState::Done
                && matches!(
                    c.step,
                    luna_proto::status::InstallStep::Success
                        | luna_proto::status::InstallStep::Inventory
                ))
    })
}

fn table(rows: &[NodeStatus]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header([
        "node", "group", "step", "state", "progress", "elapsed", "detail",
    ]);
    for r in rows {
        let (step, state, elapsed) = match &r.current {
            Some(c) => (
                c.step.to_string(),
                c.state.as_str().to_string(),
                format!("{:.0}s", c.elapsed_seconds),
            ),
            None => ("-".into(), "no report".into(), String::new()),
        };
        t.add_row([
            r.node.clone(),
            r.group.clone(),
            step,
            state,
            progress_text(r),
            elapsed,
            detail(r),
        ]);
    }
    t
}

fn plain_line(r: &NodeStatus) -> String {
    let mut parts = vec![r.node.clone()];
    match &r.current {
        Some(c) => {
            parts.push(c.step.to_string());
            parts.push(c.state.as_str().to_string());
        }
        None => parts.push("no-report".into()),
    }
    let p = progress_text(r);
    if !p.is_empty() {
        // Whole tens of percent, so a plain log gets a line per 10 % and not per report.
        let pct = r.progress.as_ref().map(|p| p.percent()).unwrap_or(0.0);
        parts.push(format!("{}%", (pct / 10.0).floor() * 10.0));
    }
    let d = detail(r);
    if !d.is_empty() {
        parts.push(d);
    }
    parts.join(" ")
}

/// `[#######.............]  35% 12.1 MB/s 4 peers` while the node downloads or unpacks.
fn progress_text(r: &NodeStatus) -> String {
    let in_image_step = r.current.as_ref().is_some_and(|c| {
        matches!(
            c.step,
            luna_proto::status::InstallStep::Download | luna_proto::status::InstallStep::Unpack
        ) && c.state == StepState::Running
    });
    let Some(p) = r.progress.as_ref().filter(|_| in_image_step) else {
        return String::new();
    };
    let pct = p.percent();
    let filled = ((pct / 100.0) * BAR_WIDTH as f64).round() as usize;
    format!(
        "[{}{}] {:>3.0}% {} {} peers",
        "#".repeat(filled.min(BAR_WIDTH)),
        ".".repeat(BAR_WIDTH - filled.min(BAR_WIDTH)),
        pct,
        rate(p.download_rate),
        p.peers
    )
}

fn rate(bytes_per_second: u64) -> String {
    let b = bytes_per_second as f64;
    if b >= 1e9 {
        format!("{:.1} GB/s", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB/s", b / 1e6)
    } else {
        format!("{:.0} kB/s", b / 1e3)
    }
}

/// Why a step failed (exit code, message, last output line) or why it was skipped.
fn detail(r: &NodeStatus) -> String {
    let Some(c) = &r.current else {
        return String::new();
    };
    let mut parts = Vec::new();
    if let Some(code) = c.exit_code.filter(|_| c.state == StepState::Failed) {
        parts.push(format!("exit {code}"));
    }
    if let Some(m) = &c.message {
        parts.push(m.clone());
    }
    if c.state == StepState::Failed
        && let Some(last) = c.output_tail.last()
    {
        parts.push(last.clone());
    }
    parts.join(": ")
}

/// `luna node show N`: the node and its install status (`install`).
pub async fn show(c: &Client, f: Format, name: &str) -> Result<(), CliError> {
    let mut node = c.get(&format!("/nodes/{}", seg(name))).await?;
    let status = c.get(&format!("/nodes/{}/status", seg(name))).await?;
    match (&mut node, status) {
        (Value::Array(nodes), Value::Array(statuses)) => {
            for (n, s) in nodes.iter_mut().zip(statuses) {
                attach(f, n, s);
            }
        }
        (n, s) => attach(f, n, s),
    }
    print_object(f, &node);
    Ok(())
}

fn attach(f: Format, node: &mut Value, status: Value) {
    let Some(obj) = node.as_object_mut() else {
        return;
    };
    if f != Format::Table {
        obj.insert("install".into(), status);
        return;
    }
    let Ok(s) = serde_json::from_value::<NodeStatus>(status) else {
        return;
    };
    let text = match &s.current {
        None => "no report yet".to_string(),
        Some(c) => {
            let mut t = format!(
                "{} {} ({:.0}s)",
                c.step,
                c.state.as_str(),
                c.elapsed_seconds
            );
            let p = progress_text(&s);
            if !p.is_empty() {
                t.push_str(&format!("\n{p}"));
            }
            let d = detail(&s);
            if !d.is_empty() {
                t.push_str(&format!("\n{d}"));
            }
            if c.state == StepState::Failed && c.output_tail.len() > 1 {
                t.push_str("\noutput:\n");
                t.push_str(&c.output_tail.join("\n"));
            }
            t
        }
    };
    obj.insert("install".into(), Value::String(text));
    if !s.steps.is_empty() {
        let steps: Vec<String> = s
            .steps
            .iter()
            .map(|st| {
                format!(
                    "{} {} {:.1}s",
                    st.step,
                    st.state.as_str(),
                    st.elapsed_seconds
                )
            })
            .collect();
        obj.insert("install steps".into(), Value::String(steps.join("\n")));
    }
}

/// `luna node show N --inventory`.
pub async fn inventory(c: &Client, f: Format, name: &str) -> Result<(), CliError> {
    let v = c.get(&format!("/nodes/{}/inventory", seg(name))).await?;
    if f != Format::Table {
        print_raw(f, &v);
        return Ok(());
    }
    let inv: Inventory = serde_json::from_value(v)
        .map_err(|e| CliError::new(7, format!("the daemon's inventory does not decode: {e}")))?;
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(["item", "value"]);
    let dmi = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    t.add_row(["vendor".to_string(), dmi(&inv.dmi.vendor)]);
    t.add_row(["product".to_string(), dmi(&inv.dmi.product)]);
    t.add_row(["serial".to_string(), dmi(&inv.dmi.serial)]);
    t.add_row([
        "cpu".to_string(),
        format!(
            "{} ({} threads, {} sockets)",
            inv.cpu.model, inv.cpu.threads, inv.cpu.sockets
        ),
    ]);
    t.add_row(["memory".to_string(), gib(inv.memory_bytes)]);
    for d in &inv.disks {
        t.add_row([
            format!("disk {}", d.device),
            format!(
                "{} {}{}",
                gib(d.size_bytes),
                d.model.clone().unwrap_or_default(),
                if d.rotational { " (rotational)" } else { "" }
            ),
        ]);
    }
    for n in &inv.nics {
        t.add_row([
            format!("nic {}", n.name),
            format!(
                "{} {} link {}{}",
                n.mac,
                n.operstate,
                if n.link { "yes" } else { "no" },
                n.speed_mbps
                    .map(|s| format!(" {s} Mb/s"))
                    .unwrap_or_default()
            ),
        ]);
    }
    t.add_row([
        "bmc".to_string(),
        inv.bmc_address.clone().unwrap_or_else(|| "-".into()),
    ]);
    println!("{t}");
    Ok(())
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}
