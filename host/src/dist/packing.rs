//! Pack jobs: `luna osimage pack` runs here, in the daemon, one job per osimage at a time. A job
//! writes `DATA/images/NAME.tar.zst` + `.torrent` and `DATA/boot/NAME/kernel` + `initramfs`
//! (each replaced atomically), then records the result on the osimage; the CLI polls its status.

use super::Distribution;
use crate::model::{ErrorKind, LunaError, OsImage, PackInfo, Result};
use crate::service::Luna;
use luna_dist::{InitramfsBuilder, InitramfsError, InitramfsOptions, PackError};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use utoipa::ToSchema;

/// What to pack: both parts unless one is asked for alone.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackRequest {
    /// Only the image tarball and torrent.
    #[serde(default)]
    pub image_only: bool,
    /// Only the kernel and initramfs.
    #[serde(default)]
    pub boot_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PackStep {
    /// Writing the tarball (bytes_done of bytes_total).
    Image,
    /// Copying the kernel and building the initramfs.
    Boot,
    Done,
    Failed,
}

/// A pack job as the API reports it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PackStatus {
    pub osimage: String,
    pub step: PackStep,
    /// File content packed so far and in total (the image step).
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub error: Option<LunaError>,
    /// The finished pack, as recorded on the osimage.
    pub pack: Option<PackInfo>,
}

impl PackStatus {
    pub fn running(&self) -> bool {
        matches!(self.step, PackStep::Image | PackStep::Boot)
    }
}

/// The latest job of every osimage packed since the daemon started.
#[derive(Default)]
pub struct PackJobs(Mutex<HashMap<String, PackStatus>>);

impl PackJobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PackStatus>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, osimage: &str) -> Option<PackStatus> {
        self.lock().get(osimage).cloned()
    }

    /// Names of the osimages being packed now.
    pub fn running(&self) -> HashSet<String> {
        self.lock()
            .values()
            .filter(|s| s.running())
            .map(|s| s.osimage.clone())
            .collect()
    }

    fn update(&self, osimage: &str, f: impl FnOnce(&mut PackStatus)) {
        if let Some(s) = self.lock().get_mut(osimage) {
            f(s);
        }
    }

    /// Registers a new job unless one is running for the image.
    fn begin(&self, osimage: &str, first: PackStep) -> Result<PackStatus> {
        let mut jobs = self.lock();
        if jobs.get(osimage).is_some_and(PackStatus::running) {
            return Err(LunaError::conflict(format!(
                "osimage '{osimage}' is being packed already; wait for that pack to finish ('luna osimage pack' shows its progress) and run it again"
            )));
        }
        let status = PackStatus {
            osimage: osimage.to_string(),
            step: first,
            bytes_done: 0,
            bytes_total: 0,
            error: None,
            pack: None,
        };
        jobs.insert(osimage.to_string(), status.clone());
        Ok(status)
    }
}

/// Checks the request and starts the job; returns its first status.
pub async fn start(
    dist: Arc<Distribution>,
    luna: Luna,
    name: &str,
    req: PackRequest,
) -> Result<PackStatus> {
    if req.image_only && req.boot_only {
        return Err(LunaError::invalid(
            "--image-only and --boot-only exclude each other; give neither to pack both",
        ));
    }
    let image = luna.osimage_show(name).await?;
    let cluster = luna.cluster().await?;
    let (do_image, do_boot) = (!req.boot_only, !req.image_only);
    let announce = if do_image {
        Some(format!(
            "http://{}/announce",
            super::require_reach(&cluster)?.http
        ))
    } else {
        None
    };
    let agent = if do_boot {
        Some(agent_binary(dist.agent_binary.as_deref())?)
    } else {
        None
    };
    let status = dist.jobs.begin(
        name,
        if do_image {
            PackStep::Image
        } else {
            PackStep::Boot
        },
    )?;
    tokio::spawn(async move {
        let name = image.name.clone();
        let result = run(&dist, &luna, image, announce, agent).await;
        if let Err(e) = &result {
            tracing::warn!(osimage = %name, error = %e.message, "pack failed");
        }
        dist.jobs.update(&name, |s| match result {
            Ok(info) => {
                s.step = PackStep::Done;
                s.pack = Some(info);
            }
            Err(e) => {
                s.step = PackStep::Failed;
                s.error = Some(e);
            }
        });
        dist.poke.notify_one();
    });
    Ok(status)
}

/// The agent binary for the initramfs: the configured one, else `luna-agent` next to `luna`.
pub(crate) fn agent_binary(configured: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = configured {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(LunaError::invalid(format!(
                "the luna-agent binary {} set as agent_binary in the [dist] section of luna.toml does not exist; fix the path or install luna-agent there",
                p.display()
            )))
        };
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("luna-agent")));
    match beside {
        Some(p) if p.is_file() => Ok(p),
        other => Err(LunaError::invalid(format!(
            "the luna-agent binary the initramfs needs is missing (looked for {}); install it next to the luna binary or set agent_binary in the [dist] section of luna.toml; 'luna osimage pack --image-only' packs without it",
            other.map_or_else(
                || "luna-agent beside luna".into(),
                |p| p.display().to_string()
            )
        ))),
    }
}

async fn run(
    dist: &Arc<Distribution>,
    luna: &Luna,
    image: OsImage,
    announce: Option<String>,
    agent: Option<PathBuf>,
) -> Result<PackInfo> {
    let name = image.name.clone();
    let mut info = image.pack.clone().unwrap_or_default();
    let mut warnings = Vec::new();
    if let Some(url) = announce {
        let opts =
            luna_dist::PackOptions::new(&name, Path::new(&image.path), &dist.images_dir(), &url);
        let progress_dist = dist.clone();
        let progress_name = name.clone();
        let packed = luna_dist::ImagePacker::new(opts)
            .pack(move |p| {
                progress_dist.jobs.update(&progress_name, |s| {
                    s.bytes_done = p.bytes_done;
                    s.bytes_total = p.bytes_total;
                })
            })
            .await
            .map_err(|e| pack_error(&name, e))?;
        info.size = Some(packed.size);
        info.piece_size = Some(packed.piece_length);
        info.info_hash = Some(packed.info_hash.to_string());
        info.image_packed_at = Some(now_rfc3339());
        for s in &packed.skipped_sockets {
            warnings.push(format!(
                "socket {} cannot be archived and was left out",
                s.display()
            ));
        }
    }
    let mut boot_result = Ok(());
    if let Some(agent) = agent {
        dist.jobs.update(&name, |s| s.step = PackStep::Boot);
        let out = dist.boot_dir(&name);
        let img = image.clone();
        boot_result = tokio::task::spawn_blocking(move || build_boot(&img, &agent, &out))
            .await
            .map_err(|e| {
                LunaError::internal(format!("osimage '{name}': the boot build crashed: {e}"))
            })
            .and_then(|r| r)
            .map(|(kernver, boot_warnings)| {
                info.boot_kernver = Some(kernver);
                info.kernel = true;
                info.initramfs = true;
                info.boot_packed_at = Some(now_rfc3339());
                warnings.extend(boot_warnings);
            });
    }
    info.warnings = warnings;
    // Record what was written even when the boot part failed, so the osimage never names an
    // info-hash other than the one on disk.
    match luna.osimage_set_pack(&name, info.clone()).await {
        Ok(_) => {}
        Err(e) if e.kind == ErrorKind::NotFound => {
            let _ = luna_dist::pack::remove_artefacts(&dist.images_dir(), &name);
            let _ = std::fs::remove_dir_all(dist.boot_dir(&name));
            return Err(LunaError::conflict(format!(
                "osimage '{name}' was deleted or renamed while it was being packed; its new artefacts were removed"
            )));
        }
        Err(e) => return Err(e),
    }
    boot_result.map(|()| info)
}

/// Copies the chosen kernel and builds the initramfs; returns the kernel version and warnings.
fn build_boot(image: &OsImage, agent: &Path, out: &Path) -> Result<(String, Vec<String>)> {
    let name = &image.name;
    let root = Path::new(&image.path);
    let (_, kernver) = crate::service::kernels_of(name, &image.path, image.kernver.as_deref())?;
    let kernels = luna_dist::detect_kernels(root)
        .map_err(|e| LunaError::invalid(format!("osimage '{name}': {e}")))?;
    let vmlinuz = kernels
        .iter()
        .find(|k| k.version == kernver)
        .and_then(|k| k.vmlinuz.clone())
        .ok_or_else(|| {
            LunaError::invalid(format!(
                "osimage '{name}': kernel {kernver} has no /boot/vmlinuz-{kernver} in the image; install the kernel image or pick another with 'luna osimage change {name} --kernver'"
            ))
        })?;
    let write_err = |p: &Path, e: std::io::Error| {
        LunaError::internal(format!("osimage '{name}': writing {}: {e}", p.display()))
    };
    std::fs::create_dir_all(out).map_err(|e| write_err(out, e))?;
    let tmp = out.join(".kernel.partial");
    let kernel = out.join("kernel");
    std::fs::copy(&vmlinuz, &tmp)
        .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, &kernel))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            write_err(&kernel, e)
        })?;
    let mut opts = InitramfsOptions::new(root, &kernver, agent);
    if !Path::new(luna_dist::sample_image::HOST_BUSYBOX).is_file() {
        opts.busybox = None;
    }
    opts.modules.extend(image.modules.iter().cloned());
    opts.modules.extend(image.drivers.iter().cloned());
    let report = InitramfsBuilder::new(opts)
        .build(&out.join("initramfs"))
        .map_err(|e| initramfs_error(name, e))?;
    Ok((kernver, report.warnings))
}

fn pack_error(name: &str, e: PackError) -> LunaError {
    let msg = format!("packing osimage '{name}': {e}");
    match e {
        PackError::BadName(_) | PackError::Scan(_) => LunaError::invalid(msg),
        _ => LunaError::internal(msg),
    }
}

fn initramfs_error(name: &str, e: InitramfsError) -> LunaError {
    let msg = format!("building the initramfs of osimage '{name}': {e}");
    match e {
        InitramfsError::Write { .. } => LunaError::internal(msg),
        _ => LunaError::invalid(msg),
    }
}

/// The current UTC time as RFC 3339 (seconds).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ` (days to civil date after Howard Hinnant's algorithm).
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::rfc3339(1_795_656_896), "2026-11-26T01:34:56Z");
    }
}
