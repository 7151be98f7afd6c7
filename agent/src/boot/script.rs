//! Running a step's shell script: output echoed to the console and its last lines kept for the
//! status report; post-install scripts run chrooted into the target with /proc, /sys and /dev
//! bind-mounted (and unmounted again whatever the script did).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Lines of output a status report carries.
pub const TAIL_LINES: usize = 20;

/// How a script ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRun {
    /// `None` when the script was killed by a signal.
    pub exit_code: Option<i32>,
    pub tail: Vec<String>,
}

impl ScriptRun {
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Where and how a script runs.
#[derive(Debug, Clone)]
pub struct ScriptEnv {
    /// Environment for the script (`SYSROOT`, `LUNA_NODE`, …).
    pub vars: Vec<(String, String)>,
    /// Run chrooted into this directory (post-install).
    pub chroot: Option<PathBuf>,
    /// Bind-mount /proc, /sys and /dev into the chroot first (needs root).
    pub bind_mounts: bool,
}

/// Runs `text` with `/bin/sh -e`; `label` prefixes the echoed output.
pub async fn run(label: &str, text: &str, env: &ScriptEnv) -> anyhow::Result<ScriptRun> {
    // Unique per run: scripts running at once (tests, retries) must not overwrite each other.
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("luna-{label}-{}-{seq}.sh", std::process::id());
    let (file, path_for_shell) = match &env.chroot {
        Some(root) => {
            let dir = root.join("tmp");
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            (dir.join(&name), PathBuf::from("/tmp").join(&name))
        }
        None => {
            let p = std::env::temp_dir().join(&name);
            (p.clone(), p)
        }
    };
    std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
    let mounts = match (&env.chroot, env.bind_mounts) {
        (Some(root), true) => BindMounts::mount(root)?,
        _ => BindMounts::default(),
    };
    let mut cmd = match &env.chroot {
        Some(root) => {
            let mut c = tokio::process::Command::new("chroot");
            c.arg(root).arg("/bin/sh");
            c
        }
        None => tokio::process::Command::new("/bin/sh"),
    };
    cmd.arg("-e")
        .arg(&path_for_shell)
        .envs(env.vars.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let result = async {
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting the {label} script"))?;
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        let out = tokio::spawn(pump(child.stdout.take(), label.to_string(), tail.clone()));
        let err = tokio::spawn(pump(child.stderr.take(), label.to_string(), tail.clone()));
        let status = child.wait().await.context("waiting for the script")?;
        let _ = out.await;
        let _ = err.await;
        let tail = tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default();
        anyhow::Ok(ScriptRun {
            exit_code: status.code(),
            tail,
        })
    }
    .await;
    drop(mounts);
    let _ = std::fs::remove_file(&file);
    result
}

async fn pump<R: AsyncRead + Unpin>(
    reader: Option<R>,
    label: String,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let Some(r) = reader else { return };
    let mut lines = BufReader::new(r).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("[{label}] {line}");
        if let Ok(mut t) = tail.lock() {
            if t.len() == TAIL_LINES {
                t.pop_front();
            }
            t.push_back(line);
        }
    }
}

/// /proc, /sys and /dev bound into a chroot; unmounted (lazily, innermost first) on drop.
#[derive(Default)]
struct BindMounts {
    mounted: Vec<PathBuf>,
}

impl BindMounts {
    fn mount(root: &Path) -> anyhow::Result<Self> {
        let mut m = BindMounts::default();
        for dir in ["proc", "sys", "dev"] {
            let target = root.join(dir);
            std::fs::create_dir_all(&target)
                .with_context(|| format!("creating {}", target.display()))?;
            let status = std::process::Command::new("mount")
                .arg("--bind")
                .arg(format!("/{dir}"))
                .arg(&target)
                .status()
                .context("running mount")?;
            if !status.success() {
                anyhow::bail!(
                    "bind-mounting /{dir} on {} failed ({status})",
                    target.display()
                );
            }
            m.mounted.push(target);
        }
        Ok(m)
    }
}

impl Drop for BindMounts {
    fn drop(&mut self) {
        for target in self.mounted.iter().rev() {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(target)
                .status();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> ScriptEnv {
        ScriptEnv {
            vars: vec![("GREETING".into(), "hello".into())],
            chroot: None,
            bind_mounts: false,
        }
    }

    #[tokio::test]
    async fn keeps_the_last_lines_and_the_exit_code() {
        let r = run(
            "t1",
            "i=0; while [ $i -lt 30 ]; do echo line$i; i=$((i+1)); done\necho \"$GREETING\" >&2\nexit 7\n",
            &plain(),
        )
        .await
        .unwrap();
        assert_eq!(r.exit_code, Some(7));
        assert_eq!(r.tail.len(), TAIL_LINES);
        assert_eq!(r.tail.last().map(String::as_str), Some("hello"));
        assert!(!r.tail.contains(&"line0".to_string()));
    }

    #[tokio::test]
    async fn a_failing_command_stops_the_script() {
        let r = run("t2", "false\necho not reached\n", &plain())
            .await
            .unwrap();
        assert_eq!(r.exit_code, Some(1));
        assert!(r.tail.is_empty());
    }
}
