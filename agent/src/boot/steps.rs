//! The install steps, in order: prescript → setupbmc → partscript → download → unpack → setnet
//! → postscript → success. Each is reported when it starts and when it ends (done, skipped or
//! failed with exit code and output tail); the first failure stops the install.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use luna_dist::InfoHash;
use luna_proto::dist::ImageSource;
use luna_proto::plan::{BmcPlan, NodePlan};
use luna_proto::status::{InstallStep, StepReport, StepState};

use super::console;
use super::hostapi::HostApi;
use super::netconfig::{self, NetSpec};
use super::script::{self, ScriptEnv, ScriptRun};
use crate::{FetchOptions, fetch};

/// Where step reports go: the host, or a list (tests).
#[derive(Clone)]
pub enum Sink {
    Host(HostApi),
    Memory(Arc<Mutex<Vec<StepReport>>>),
}

impl Sink {
    pub async fn send(&self, node: &str, report: StepReport) {
        match self {
            Sink::Host(h) => h.report(node, &report).await,
            Sink::Memory(m) => m.lock().unwrap_or_else(|e| e.into_inner()).push(report),
        }
    }
}

/// Everything the steps need besides the plan.
#[derive(Debug, Clone)]
pub struct InstallContext {
    pub plan: NodePlan,
    /// The target root (default /sysroot).
    pub sysroot: PathBuf,
    pub boot_mac: Option<String>,
    pub host_url: String,
    /// Run post-install scripts chrooted into the target with /proc, /sys, /dev bound.
    pub chroot: bool,
    /// A real boot: the target must be a mount point and diskless nodes get a tmpfs there.
    pub real_boot: bool,
    /// Image source when the plan has none (tests before the host packs images itself).
    pub image_override: Option<ImageSource>,
    /// Where `DownloadProgress` reports go.
    pub progress_url: Option<String>,
    /// BitTorrent listen address.
    pub listen: SocketAddr,
    pub report_interval: Duration,
    pub announce_interval: Duration,
}

/// The step that stopped the install and why.
#[derive(Debug, Clone, PartialEq)]
pub struct StepFailure {
    pub step: InstallStep,
    pub exit_code: Option<i32>,
    pub message: String,
    pub tail: Vec<String>,
}

impl std::fmt::Display for StepFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {} failed: {}", self.step, self.message)
    }
}

enum Outcome {
    Done {
        exit_code: Option<i32>,
        tail: Vec<String>,
        message: Option<String>,
    },
    Skipped(String),
    /// A step that reports as several (download and unpack), sent as they are.
    Reports(Vec<StepReport>),
}

struct Failed {
    exit_code: Option<i32>,
    message: String,
    tail: Vec<String>,
}

impl From<anyhow::Error> for Failed {
    fn from(e: anyhow::Error) -> Self {
        Failed {
            exit_code: None,
            message: format!("{e:#}"),
            tail: Vec::new(),
        }
    }
}

fn from_script(what: &str, r: ScriptRun) -> Result<Outcome, Failed> {
    if r.succeeded() {
        Ok(Outcome::Done {
            exit_code: r.exit_code,
            tail: r.tail,
            message: None,
        })
    } else {
        Err(Failed {
            exit_code: r.exit_code,
            message: match r.exit_code {
                Some(c) => format!("the {what} exited with code {c}"),
                None => format!("the {what} was killed by a signal"),
            },
            tail: r.tail,
        })
    }
}

fn report(step: InstallStep, state: StepState, started: Instant) -> StepReport {
    StepReport {
        step,
        state,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        exit_code: None,
        output_tail: Vec::new(),
        message: None,
    }
}

/// Runs the install; `Ok` when every step is done (the target is ready to boot).
pub async fn install(ctx: &InstallContext, sink: &Sink) -> Result<(), StepFailure> {
    let node = ctx.plan.node.as_str();
    let ordered = [
        InstallStep::Prescript,
        InstallStep::Setupbmc,
        InstallStep::Partscript,
        InstallStep::Download,
        InstallStep::Setnet,
        InstallStep::Postscript,
    ];
    for step in ordered {
        console::step(step.as_str(), "starting");
        let started = Instant::now();
        sink.send(node, report(step, StepState::Running, started))
            .await;
        let result = match step {
            InstallStep::Prescript => prescript(ctx).await,
            InstallStep::Setupbmc => setupbmc(ctx).await,
            InstallStep::Partscript => partscript(ctx).await,
            InstallStep::Download => download_and_unpack(ctx).await,
            InstallStep::Setnet => setnet(ctx),
            _ => postscript(ctx).await,
        };
        match result {
            Ok(Outcome::Done {
                exit_code,
                tail,
                message,
            }) => {
                console::step(step.as_str(), "done");
                let mut r = report(step, StepState::Done, started);
                r.exit_code = exit_code;
                r.output_tail = tail;
                r.message = message;
                sink.send(node, r).await;
            }
            Ok(Outcome::Reports(reports)) => {
                console::step(step.as_str(), "done");
                for r in reports {
                    sink.send(node, r).await;
                }
            }
            Ok(Outcome::Skipped(why)) => {
                console::step(step.as_str(), &format!("skipped ({why})"));
                let mut r = report(step, StepState::Skipped, started);
                r.message = Some(why);
                sink.send(node, r).await;
            }
            Err(f) => {
                let mut r = report(step, StepState::Failed, started);
                r.exit_code = f.exit_code;
                r.output_tail = f.tail.clone();
                r.message = Some(f.message.clone());
                sink.send(node, r).await;
                return Err(StepFailure {
                    step,
                    exit_code: f.exit_code,
                    message: f.message,
                    tail: f.tail,
                });
            }
        }
    }
    // "Installed" must survive a power reset: flush what the steps wrote (the boot loader's
    // config last of all) before saying so. Without it a BMC reset soon after success found a
    // disk whose grub.cfg was still in the page cache and stopped at GRUB's prompt.
    let flush = Instant::now();
    tokio::task::spawn_blocking(rustix::fs::sync).await.ok();
    let mut r = report(InstallStep::Success, StepState::Done, flush);
    r.message = Some(format!("{} is installed", ctx.plan.hostname));
    sink.send(node, r).await;
    console::step("success", "the node is installed");
    Ok(())
}

fn env(ctx: &InstallContext) -> ScriptEnv {
    let mut vars = vec![
        ("SYSROOT".to_string(), ctx.sysroot.display().to_string()),
        ("LUNA_NODE".to_string(), ctx.plan.node.clone()),
        ("LUNA_HOSTNAME".to_string(), ctx.plan.hostname.clone()),
        ("LUNA_URL".to_string(), ctx.host_url.clone()),
    ];
    if let Some(m) = &ctx.boot_mac {
        vars.push(("LUNA_BOOT_MAC".to_string(), m.clone()));
    }
    ScriptEnv {
        vars,
        chroot: None,
        bind_mounts: false,
    }
}

async fn prescript(ctx: &InstallContext) -> Result<Outcome, Failed> {
    let text = &ctx.plan.scripts.prescript;
    if text.trim().is_empty() {
        return Ok(Outcome::Skipped("the group has no prescript".into()));
    }
    from_script(
        "prescript",
        script::run("prescript", text, &env(ctx)).await?,
    )
}

/// The ipmitool sequence for a BMC plan when the group has no `bmc` plugin binding.
pub fn ipmitool_script(b: &BmcPlan) -> String {
    let mut s = String::from(
        "command -v ipmitool >/dev/null || { echo 'ipmitool is not in the initramfs'; exit 127; }\n",
    );
    let ch = b.netchannel;
    if let Some(a) = &b.address {
        let (ip, prefix) = a.cidr.split_once('/').unwrap_or((&a.cidr, "24"));
        let prefix: u32 = prefix.parse().unwrap_or(24).min(32);
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        };
        let mask = std::net::Ipv4Addr::from(mask);
        s.push_str(&format!(
            "ipmitool lan set {ch} ipsrc static\nipmitool lan set {ch} ipaddr {ip}\nipmitool lan set {ch} netmask {mask}\n"
        ));
        if let Some(g) = &a.gateway {
            s.push_str(&format!("ipmitool lan set {ch} defgw ipaddr {g}\n"));
        }
    }
    let uid = b.userid;
    let q = |v: &str| format!("'{}'", v.replace('\'', "'\\''"));
    s.push_str(&format!(
        "ipmitool user set name {uid} {user}\nipmitool user set password {uid} {pw}\nipmitool channel setaccess {ch} {uid} link=on ipmi=on callin=on privilege=4\nipmitool user enable {uid}\nipmitool mc reset cold\n",
        user = q(&b.user),
        pw = q(&b.password),
    ));
    s
}

async fn setupbmc(ctx: &InstallContext) -> Result<Outcome, Failed> {
    let Some(bmc) = &ctx.plan.bmc else {
        return Ok(Outcome::Skipped(
            "setupbmc is off for this node or its group has no bmcsetup".into(),
        ));
    };
    let text = match &ctx.plan.rendered.bmc_setup {
        Some(t) if !t.trim().is_empty() => t.clone(),
        _ => ipmitool_script(bmc),
    };
    from_script(
        "BMC setup",
        script::run("setupbmc", &text, &env(ctx)).await?,
    )
}

fn is_mount_point(p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(m), Some(parent)) = (std::fs::metadata(p), p.parent()) else {
        return false;
    };
    std::fs::metadata(parent).is_ok_and(|pm| pm.dev() != m.dev() || pm.ino() == m.ino())
}

async fn partscript(ctx: &InstallContext) -> Result<Outcome, Failed> {
    let text = match &ctx.plan.rendered.partition {
        Some(p) if !p.script.trim().is_empty() => p.script.clone(),
        _ => ctx.plan.scripts.partscript.clone(),
    };
    if text.trim().is_empty() {
        // Diskless: the image is unpacked into RAM.
        std::fs::create_dir_all(&ctx.sysroot).map_err(|e| Failed {
            exit_code: None,
            message: format!("creating {}: {e}", ctx.sysroot.display()),
            tail: Vec::new(),
        })?;
        if ctx.real_boot && !is_mount_point(&ctx.sysroot) {
            let r = script::run(
                "diskless",
                &format!(
                    "mount -t tmpfs -o mode=0755 tmpfs '{}'",
                    ctx.sysroot.display()
                ),
                &env(ctx),
            )
            .await?;
            if !r.succeeded() {
                return from_script("tmpfs mount", r);
            }
        }
        return Ok(Outcome::Done {
            exit_code: None,
            tail: Vec::new(),
            message: Some("diskless: root on tmpfs".into()),
        });
    }
    let r = script::run("partscript", &text, &env(ctx)).await?;
    let outcome = from_script("partition script", r)?;
    if !ctx.sysroot.is_dir() {
        return Err(Failed {
            exit_code: Some(0),
            message: format!(
                "the partition script succeeded but did not create {}; it must leave the target mounted there",
                ctx.sysroot.display()
            ),
            tail: Vec::new(),
        });
    }
    if ctx.real_boot && !is_mount_point(&ctx.sysroot) {
        return Err(Failed {
            exit_code: Some(0),
            message: format!(
                "the partition script succeeded but nothing is mounted on {}; the image would land in RAM",
                ctx.sysroot.display()
            ),
            tail: Vec::new(),
        });
    }
    Ok(outcome)
}

/// Download (seeding meanwhile) and unpack, through [`fetch`]: reported as two steps.
async fn download_and_unpack(ctx: &InstallContext) -> Result<Outcome, Failed> {
    let source = ctx
        .plan
        .image
        .clone()
        .or_else(|| ctx.image_override.clone())
        .ok_or_else(|| Failed {
            exit_code: None,
            message: format!(
                "osimage '{0}' is not packed yet, so there is nothing to download; run 'luna osimage pack {0}'",
                ctx.plan.osimage.name
            ),
            tail: Vec::new(),
        })?;
    let info_hash: InfoHash = source.info_hash.parse().map_err(|e| Failed {
        exit_code: None,
        message: format!("the plan's image info-hash '{}': {e}", source.info_hash),
        tail: Vec::new(),
    })?;
    let mut peers = Vec::new();
    for p in &source.seed_peers {
        match p.parse::<SocketAddr>() {
            Ok(a) => peers.push(a),
            Err(_) => eprintln!("luna-agent: ignoring seed peer '{p}' (not IP:PORT)"),
        }
    }
    let mut opts = FetchOptions::new(&source.torrent_url, info_hash, peers, ctx.sysroot.clone());
    opts.report_url = ctx.progress_url.clone();
    opts.listen = ctx.listen;
    opts.report_interval = ctx.report_interval;
    opts.announce_interval = ctx.announce_interval;
    let outcome = fetch(opts).await?;
    // `fetch` downloads, unpacks while still seeding, then stops seeding: the unpack is
    // reported as its own step with the time `fetch` measured for it.
    Ok(Outcome::Reports(vec![
        StepReport {
            step: InstallStep::Download,
            state: StepState::Done,
            elapsed_seconds: outcome.download_seconds,
            exit_code: None,
            output_tail: Vec::new(),
            message: Some(format!("{} bytes", outcome.bytes)),
        },
        StepReport {
            step: InstallStep::Unpack,
            state: StepState::Done,
            elapsed_seconds: outcome.unpack_seconds,
            exit_code: None,
            output_tail: Vec::new(),
            message: Some(format!(
                "{} entries into {}",
                outcome.entries,
                ctx.sysroot.display()
            )),
        },
    ]))
}

fn setnet(ctx: &InstallContext) -> Result<Outcome, Failed> {
    let spec = NetSpec::from_plan(&ctx.plan, ctx.boot_mac.as_deref())?;
    let (family, files) = netconfig::apply(&ctx.sysroot, &spec)?;
    Ok(Outcome::Done {
        exit_code: None,
        tail: files.iter().map(|f| format!("/{}", f.display())).collect(),
        message: Some(format!(
            "{family:?} configuration for {} interface(s), hostname {}",
            spec.interfaces.len(),
            spec.hostname
        )),
    })
}

async fn postscript(ctx: &InstallContext) -> Result<Outcome, Failed> {
    let scripts: Vec<(&str, String)> = [
        (
            "post-install",
            ctx.plan.rendered.post_install.clone().unwrap_or_default(),
        ),
        ("postscript", ctx.plan.scripts.postscript.clone()),
    ]
    .into_iter()
    .filter(|(_, t)| !t.trim().is_empty())
    .collect();
    if scripts.is_empty() {
        return Ok(Outcome::Skipped(
            "the group has no post-install hook or postscript".into(),
        ));
    }
    let mut env = env(ctx);
    if ctx.chroot {
        env.chroot = Some(ctx.sysroot.clone());
        env.bind_mounts = true;
        // Inside the chroot the target is the root.
        env.vars.retain(|(k, _)| k != "SYSROOT");
        env.vars.push(("SYSROOT".into(), "/".into()));
    }
    let mut last = None;
    for (label, text) in scripts {
        let r = script::run(label, &text, &env).await?;
        last = Some(from_script(label, r)?);
    }
    Ok(last.unwrap_or(Outcome::Skipped(String::new())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use luna_proto::plan::*;

    fn plan(prescript: &str, partscript: &str, postscript: &str) -> NodePlan {
        NodePlan {
            node: "node001".into(),
            group: "compute".into(),
            hostname: "node001.cluster".into(),
            mac: Some("52:54:00:12:34:56".into()),
            osimage: OsImagePlan {
                name: "debian".into(),
                kernver: None,
                kernopts: String::new(),
            },
            interfaces: vec![InterfacePlan {
                name: "BOOTIF".into(),
                params: String::new(),
                addresses: vec![AddressPlan {
                    network: "cluster".into(),
                    cidr: "10.141.0.1/16".into(),
                    gateway: None,
                    nameserver: "10.141.255.254".into(),
                }],
            }],
            bmc: None,
            localboot: false,
            service: false,
            scripts: ScriptsPlan {
                prescript: prescript.into(),
                partscript: partscript.into(),
                postscript: postscript.into(),
            },
            plugins: Vec::new(),
            image: None,
            rendered: RenderedHooks::default(),
        }
    }

    fn ctx(plan: NodePlan, sysroot: &Path) -> InstallContext {
        InstallContext {
            plan,
            sysroot: sysroot.to_path_buf(),
            boot_mac: Some("52:54:00:12:34:56".into()),
            host_url: "http://127.0.0.1:9".into(),
            chroot: false,
            real_boot: false,
            image_override: None,
            progress_url: None,
            listen: "127.0.0.1:0".parse().unwrap(),
            report_interval: Duration::from_secs(1),
            announce_interval: Duration::from_secs(1),
        }
    }

    fn states(reports: &[StepReport]) -> Vec<(String, &'static str)> {
        reports
            .iter()
            .map(|r| (r.step.to_string(), r.state.as_str()))
            .collect()
    }

    #[tokio::test]
    async fn a_failing_partition_script_stops_the_install_with_code_and_output() {
        let tmp = tempfile::tempdir().unwrap();
        let sysroot = tmp.path().join("sysroot");
        let reports = Arc::new(Mutex::new(Vec::new()));
        let c = ctx(
            plan(
                "echo preparing $LUNA_NODE",
                "echo 'sfdisk: /dev/sda: no such device' >&2\nexit 3",
                "touch \"$SYSROOT/should-not-run\"",
            ),
            &sysroot,
        );
        let f = install(&c, &Sink::Memory(reports.clone()))
            .await
            .unwrap_err();
        assert_eq!(f.step, InstallStep::Partscript);
        assert_eq!(f.exit_code, Some(3));
        assert_eq!(f.tail, vec!["sfdisk: /dev/sda: no such device".to_string()]);
        let reports = reports.lock().unwrap();
        assert_eq!(
            states(&reports),
            vec![
                ("prescript".into(), "running"),
                ("prescript".into(), "done"),
                ("setupbmc".into(), "running"),
                ("setupbmc".into(), "skipped"),
                ("partscript".into(), "running"),
                ("partscript".into(), "failed"),
            ]
        );
        assert_eq!(
            reports[1].output_tail,
            vec!["preparing node001".to_string()]
        );
        let failed = reports.last().unwrap();
        assert_eq!(failed.exit_code, Some(3));
        assert!(
            failed
                .message
                .as_deref()
                .unwrap()
                .contains("exited with code 3")
        );
        assert!(!sysroot.join("should-not-run").exists());
    }

    #[tokio::test]
    async fn a_partition_script_that_leaves_no_target_fails_clearly() {
        let tmp = tempfile::tempdir().unwrap();
        let reports = Arc::new(Mutex::new(Vec::new()));
        let c = ctx(plan("", "true", ""), &tmp.path().join("missing"));
        let f = install(&c, &Sink::Memory(reports)).await.unwrap_err();
        assert_eq!(f.step, InstallStep::Partscript);
        assert!(f.message.contains("did not create"), "{}", f.message);
    }

    #[tokio::test]
    async fn an_unpacked_image_stops_at_download_naming_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let reports = Arc::new(Mutex::new(Vec::new()));
        let c = ctx(plan("", "", ""), &tmp.path().join("sysroot"));
        let f = install(&c, &Sink::Memory(reports.clone()))
            .await
            .unwrap_err();
        assert_eq!(f.step, InstallStep::Download);
        assert!(
            f.message.contains("luna osimage pack debian"),
            "{}",
            f.message
        );
        let reports = reports.lock().unwrap();
        // Empty prescript: skipped; empty partscript: diskless, done.
        assert_eq!(reports[1].state, StepState::Skipped);
        assert_eq!(reports[5].step, InstallStep::Partscript);
        assert_eq!(reports[5].state, StepState::Done);
        assert_eq!(
            reports[5].message.as_deref(),
            Some("diskless: root on tmpfs")
        );
    }

    #[test]
    fn bmc_script_sets_address_user_and_access() {
        let s = ipmitool_script(&BmcPlan {
            address: Some(AddressPlan {
                network: "ipmi".into(),
                cidr: "10.148.0.1/16".into(),
                gateway: Some("10.148.255.254".into()),
                nameserver: String::new(),
            }),
            user: "admin".into(),
            password: "it's".into(),
            userid: 2,
            netchannel: 1,
            mgmtchannel: 1,
        });
        assert!(s.contains("ipmitool lan set 1 ipaddr 10.148.0.1\n"));
        assert!(s.contains("ipmitool lan set 1 netmask 255.255.0.0\n"));
        assert!(s.contains("ipmitool lan set 1 defgw ipaddr 10.148.255.254\n"));
        assert!(s.contains("ipmitool user set password 2 'it'\\''s'\n"));
        assert!(
            s.contains("ipmitool channel setaccess 1 2 link=on ipmi=on callin=on privilege=4\n")
        );
        assert!(s.ends_with("ipmitool mc reset cold\n"));
    }
}
