//! `luna osimage pack` (a daemon job followed with a progress bar, plain lines when stderr is
//! not a terminal) and `luna osimage show` with the image's swarm.

use super::client::{CliError, Client, exit_code};
use super::output::{Format, print_object};
use super::seg;
use crate::dist::packing::{PackRequest, PackStatus, PackStep};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::IsTerminal;
use std::time::Duration;

pub async fn pack(
    c: &Client,
    f: Format,
    name: &str,
    image_only: bool,
    boot_only: bool,
) -> Result<(), CliError> {
    let path = format!("/osimages/{}/pack", seg(name));
    let req = PackRequest {
        image_only,
        boot_only,
    };
    let mut status = parse(c.post(&path, &req).await?)?;
    let mut view = ProgressView::new(name);
    while status.running() {
        view.show(&status);
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = parse(c.get(&path).await?)?;
    }
    view.finish(&status);
    if let Some(e) = status.error {
        return Err(CliError::new(exit_code(e.kind), e.message));
    }
    if let Some(p) = &status.pack {
        for w in &p.warnings {
            eprintln!("warning: {w}");
        }
    }
    show(c, f, name).await
}

fn parse(v: Value) -> Result<PackStatus, CliError> {
    serde_json::from_value(v).map_err(|e| {
        CliError::new(
            7,
            format!("the daemon's pack status is not understood: {e}"),
        )
    })
}

/// A byte progress bar on a terminal; otherwise a line per step and per tenth of the image.
struct ProgressView {
    name: String,
    bar: Option<ProgressBar>,
    last_step: Option<PackStep>,
    last_tenth: u64,
}

impl ProgressView {
    fn new(name: &str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(0);
            b.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b
        });
        Self {
            name: name.to_string(),
            bar,
            last_step: None,
            last_tenth: 0,
        }
    }

    fn label(&self, step: PackStep) -> String {
        match step {
            PackStep::Image => format!("packing {} image", self.name),
            PackStep::Boot => format!("building {} kernel + initramfs", self.name),
            PackStep::Done => format!("packed {}", self.name),
            PackStep::Failed => format!("packing {} failed", self.name),
        }
    }

    fn show(&mut self, s: &PackStatus) {
        let new_step = self.last_step != Some(s.step);
        self.last_step = Some(s.step);
        match &self.bar {
            Some(b) => {
                if new_step {
                    b.set_message(self.label(s.step));
                }
                b.set_length(s.bytes_total);
                b.set_position(s.bytes_done);
            }
            None => {
                let tenth = (s.bytes_done * 10).checked_div(s.bytes_total).unwrap_or(0);
                if new_step || (s.step == PackStep::Image && tenth > self.last_tenth) {
                    self.last_tenth = tenth;
                    eprintln!(
                        "{}: {} of {} MiB",
                        self.label(s.step),
                        s.bytes_done >> 20,
                        s.bytes_total >> 20
                    );
                }
            }
        }
    }

    fn finish(&mut self, s: &PackStatus) {
        match &self.bar {
            Some(b) => {
                b.set_position(s.bytes_done);
                b.finish_with_message(self.label(s.step));
            }
            None => eprintln!("{}", self.label(s.step)),
        }
    }
}

/// The osimage with its swarm (nodes downloading and seeding it, from the tracker). Tables
/// flatten the pack fields to one row each.
pub async fn show(c: &Client, f: Format, name: &str) -> Result<(), CliError> {
    let mut image = c.get(&format!("/osimages/{}", seg(name))).await?;
    let swarm = c.get(&format!("/osimages/{}/swarm", seg(name))).await?;
    let Value::Object(map) = &mut image else {
        print_object(f, &image);
        return Ok(());
    };
    if f != Format::Table {
        map.insert("swarm".into(), swarm);
        print_object(f, &image);
        return Ok(());
    }
    let pack = map.remove("pack").unwrap_or(Value::Null);
    match pack {
        Value::Object(p) => {
            for (k, v) in p {
                let key = match k.as_str() {
                    "size" => "pack_size".to_string(),
                    "warnings" => "pack_warnings".to_string(),
                    other => other.to_string(),
                };
                map.insert(key, v);
            }
        }
        _ => {
            map.insert(
                "pack".into(),
                Value::String(format!("not packed; run 'luna osimage pack {name}'")),
            );
        }
    }
    for k in ["starting", "downloading", "seeding", "host_seeder"] {
        map.insert(format!("swarm_{k}"), swarm[k].clone());
    }
    print_object(f, &image);
    Ok(())
}
