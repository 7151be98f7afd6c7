//! `luna-agent boot`: the worker of the Luna initramfs. Reads `luna.url= luna.node= luna.mac=`
//! from the kernel command line, loads drivers, brings up the boot NIC, fetches the install
//! plan, then either installs (see [`steps`]) and hands the target to `/init` for switch_root,
//! or, in service mode, posts a hardware inventory and leaves the node at a shell.

pub mod backoff;
pub mod cmdline;
pub mod console;
pub mod hostapi;
pub mod inventory;
pub mod netconfig;
pub mod netup;
pub mod script;
pub mod steps;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use luna_proto::dist::ImageSource;
use luna_proto::status::{InstallStep, StepReport, StepState};

use backoff::Backoff;
use hostapi::HostApi;
use steps::{InstallContext, Sink, StepFailure};

/// Where the agent tells `/init` what to switch_root into (it is not PID 1 itself).
pub const HANDOFF_FILE: &str = "/run/luna/switch-root";

#[derive(Debug, Clone)]
pub struct BootOptions {
    /// Overrides `luna.url=`.
    pub url: Option<String>,
    /// Overrides `luna.node=`.
    pub node: Option<String>,
    /// Overrides `luna.mac=`.
    pub mac: Option<String>,
    /// The kernel command line to read (default /proc/cmdline).
    pub cmdline: PathBuf,
    pub token: Option<String>,
    pub sysroot: PathBuf,
    /// Hand the installed target to /init for switch_root (off in tests).
    pub switch_root: bool,
    /// The init the target boots (checked to exist before the handoff).
    pub init: String,
    /// Run post-install chrooted into the target (off for unprivileged tests).
    pub chroot: bool,
    /// Load drivers and bring up the boot NIC with DHCP (off when the network is up already).
    pub network: bool,
    /// Drivers to load, as the initramfs builder lists them.
    pub modules_list: PathBuf,
    pub nic_wait: Duration,
    /// Root of /sys and /proc for the inventory (a fixture in tests).
    pub hardware_root: PathBuf,
    pub image_override: Option<ImageSource>,
    pub listen: SocketAddr,
    pub backoff: Backoff,
    pub report_interval: Duration,
    pub announce_interval: Duration,
}

/// How a boot ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootEnd {
    /// Installed; `/init` switch_roots into the target (the handoff file is written).
    HandedOff,
    /// Installed; switch_root is off (tests).
    Installed,
    /// Service mode: inventory posted; the node waits at a shell.
    Service,
}

/// Why a boot failed: a step (reported to the host) or getting that far.
#[derive(Debug)]
pub enum BootError {
    Step(StepFailure),
    Setup(anyhow::Error),
}

impl From<anyhow::Error> for BootError {
    fn from(e: anyhow::Error) -> Self {
        BootError::Setup(e)
    }
}

impl BootError {
    /// The console banner for this failure.
    pub fn banner(&self) -> String {
        match self {
            BootError::Step(f) => {
                let reason = match f.exit_code {
                    Some(c) if c != 0 => format!("{} (exit code {c})", f.message),
                    _ => f.message.clone(),
                };
                console::failure(f.step.as_str(), &reason, &f.tail)
            }
            BootError::Setup(e) => console::failure("boot", &format!("{e:#}"), &[]),
        }
    }
}

pub async fn run(opts: BootOptions) -> Result<BootEnd, BootError> {
    let kernel = cmdline::parse(&std::fs::read_to_string(&opts.cmdline).unwrap_or_default());
    let url = opts.url.clone().or(kernel.url).context(
        "no luna.url= on the kernel command line (and no --url); the boot script must pass the host's URL",
    )?;
    let mac = opts.mac.clone().or(kernel.mac);
    let node = opts.node.clone().or(kernel.node);
    let key = node.clone().or_else(|| mac.clone()).context(
        "neither luna.node= nor luna.mac= is on the kernel command line; the host cannot tell which node this is",
    )?;
    if opts.network {
        let n = netup::load_modules(&opts.modules_list);
        eprintln!("luna-agent: loaded {n} driver module(s)");
        let Some(mac) = &mac else {
            return Err(anyhow::anyhow!(
                "no luna.mac= on the kernel command line: the boot NIC is unknown"
            )
            .into());
        };
        netup::bring_up(mac, opts.nic_wait).await?;
    }
    let api = HostApi::new(&url, opts.token.clone(), opts.backoff);
    let plan = api.plan(&key).await?;
    eprintln!(
        "luna-agent: plan for {} (group {}, osimage {})",
        plan.node, plan.group, plan.osimage.name
    );
    if plan.service {
        service(&api, &plan.node, &opts.hardware_root).await?;
        return Ok(BootEnd::Service);
    }
    if plan.localboot {
        eprintln!(
            "luna-agent: note: {} has localboot on, but it booted the installer; installing",
            plan.node
        );
    }
    let ctx = InstallContext {
        progress_url: Some(api.progress_url(&plan.node)),
        boot_mac: mac.or_else(|| plan.mac.clone()),
        plan,
        sysroot: opts.sysroot.clone(),
        host_url: url,
        chroot: opts.chroot,
        real_boot: opts.switch_root,
        image_override: opts.image_override.clone(),
        listen: opts.listen,
        report_interval: opts.report_interval,
        announce_interval: opts.announce_interval,
    };
    steps::install(&ctx, &Sink::Host(api))
        .await
        .map_err(BootError::Step)?;
    if !opts.switch_root {
        return Ok(BootEnd::Installed);
    }
    handoff(&opts.sysroot, &opts.init)?;
    Ok(BootEnd::HandedOff)
}

/// Service mode: collect and post the inventory, reported as the `inventory` step.
async fn service(api: &HostApi, node: &str, hardware_root: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut r = StepReport {
        step: InstallStep::Inventory,
        state: StepState::Running,
        elapsed_seconds: 0.0,
        exit_code: None,
        output_tail: Vec::new(),
        message: None,
    };
    api.report(node, &r).await;
    let inv = inventory::collect(hardware_root);
    let summary = format!(
        "{} disk(s), {} NIC(s), {} CPU thread(s), {} MiB memory",
        inv.disks.len(),
        inv.nics.len(),
        inv.cpu.threads,
        inv.memory_bytes >> 20
    );
    let posted = api.post_inventory(node, &inv).await;
    r.elapsed_seconds = started.elapsed().as_secs_f64();
    match &posted {
        Ok(()) => {
            r.state = StepState::Done;
            r.message = Some(summary.clone());
        }
        Err(e) => {
            r.state = StepState::Failed;
            r.message = Some(format!("{e:#}"));
        }
    }
    api.report(node, &r).await;
    posted?;
    eprintln!("luna-agent: service mode: inventory posted ({summary}); a shell follows");
    Ok(())
}

/// Tells `/init` to switch_root into the target, after checking it has an init to run.
fn handoff(sysroot: &Path, init: &str) -> anyhow::Result<()> {
    let target = sysroot.join(init.trim_start_matches('/'));
    // Usually a symlink to systemd, relative to the target's root: check the link itself.
    if std::fs::symlink_metadata(&target).is_err() {
        bail!(
            "the installed image has no {init} in {}; it cannot boot (is the osimage complete?)",
            sysroot.display()
        );
    }
    let file = Path::new(HANDOFF_FILE);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(file, format!("{} {init}\n", sysroot.display()))
        .with_context(|| format!("writing {HANDOFF_FILE}"))?;
    Ok(())
}
