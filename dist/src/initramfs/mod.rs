//! `InitramfsBuilder`: the Luna initramfs, made by `luna osimage pack` without dracut:
//! busybox, `luna-agent`, an `/init` that loads the NIC/disk modules and starts the agent,
//! and the tools partition scripts call, copied from the image with their shared libraries.

pub mod cpio_tree;
pub mod elf_deps;
pub mod image_path;
pub mod modules;

use std::io::Write;
use std::path::{Path, PathBuf};

use cpio_tree::CpioTree;
use image_path::resolve_in_root;

/// Tools partition and post-install scripts call; missing ones are reported as warnings.
pub const DEFAULT_TOOLS: &[&str] = &[
    "sfdisk",
    "parted",
    "mkfs.ext4",
    "mkfs.xfs",
    "mkfs.vfat",
    "ipmitool",
    "wipefs",
    "blkid",
];

/// The CA bundle the agent's HTTP clients load (Debian's path; rustls-native-certs looks there).
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Where tools are looked up in the image, in order.
const TOOL_DIRS: &[&str] = &["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
}

#[derive(Debug, Clone)]
pub struct InitramfsOptions {
    /// Root of the image tree.
    pub image_root: PathBuf,
    /// Kernel version whose modules go in (`/lib/modules/<ver>` of the image).
    pub kernel_version: String,
    /// The `luna-agent` binary on the host (ideally static, built for musl).
    pub agent_binary: PathBuf,
    /// busybox on the host (Debian's busybox-static); `None`: the image's `/bin/busybox`.
    pub busybox: Option<PathBuf>,
    /// Module names to include with their dependencies.
    pub modules: Vec<String>,
    /// Tool names to copy from the image.
    pub tools: Vec<String>,
    pub compression: Compression,
    /// Arguments `/init` passes to `luna-agent` (the kernel command line is in /proc/cmdline).
    pub agent_args: Vec<String>,
}

impl InitramfsOptions {
    pub fn new(image_root: &Path, kernel_version: &str, agent_binary: &Path) -> Self {
        InitramfsOptions {
            image_root: image_root.to_path_buf(),
            kernel_version: kernel_version.to_string(),
            agent_binary: agent_binary.to_path_buf(),
            busybox: Some(PathBuf::from("/bin/busybox")),
            modules: modules::COMMON_MODULES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            tools: DEFAULT_TOOLS.iter().map(|s| s.to_string()).collect(),
            compression: Compression::Zstd,
            agent_args: vec!["boot".into()],
        }
    }
}

/// What went into the initramfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitramfsReport {
    pub path: PathBuf,
    pub size: u64,
    /// Module files, in load order (relative to `/lib/modules/<ver>`).
    pub modules: Vec<PathBuf>,
    /// Tools found, with the image path they were copied from.
    pub tools: Vec<(String, PathBuf)>,
    /// Shared libraries copied (image paths).
    pub libraries: Vec<PathBuf>,
    /// Things the operator should know: missing tools or libraries, a dynamic agent.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum InitramfsError {
    #[error("the image has no kernel modules for {version} ({dir}); pick a kernel with --kernver")]
    NoModules { version: String, dir: PathBuf },
    #[error("no busybox: {0}; install busybox-static on the host or in the image")]
    NoBusybox(String),
    #[error("the agent binary {path} is unusable: {reason}")]
    Agent { path: PathBuf, reason: String },
    #[error("reading {path} from the image: {source}")]
    Image {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the initramfs {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub struct InitramfsBuilder {
    opts: InitramfsOptions,
}

fn init_script(agent_args: &[String]) -> String {
    let args: Vec<String> = agent_args
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    format!(
        r#"#!/bin/busybox sh
# Luna initramfs /init: mount the basics, load NIC and disk drivers, start the agent.
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sysfs /sys
while read -r m; do
    insmod "/lib/modules/$(uname -r)/$m" 2>/dev/null
done < /etc/luna/modules
/bin/luna-agent {args}
status=$?
# After an install the agent names the target (it is not PID 1, so it cannot switch_root).
if [ "$status" = 0 ] && [ -s /run/luna/switch-root ]; then
    read -r newroot newinit < /run/luna/switch-root
    for m in dev proc sys; do mount --move "/$m" "$newroot/$m" 2>/dev/null; done
    exec switch_root "$newroot" "$newinit"
fi
echo "luna-agent exited with status $status; starting a shell"
exec sh
"#,
        args = args.join(" ")
    )
}

impl InitramfsBuilder {
    pub fn new(opts: InitramfsOptions) -> Self {
        InitramfsBuilder { opts }
    }

    /// Builds the initramfs at `out` (written to a temporary name, renamed into place).
    pub fn build(&self, out: &Path) -> Result<InitramfsReport, InitramfsError> {
        let o = &self.opts;
        let root = &o.image_root;
        let mut warnings = Vec::new();
        let mut tree = CpioTree::default();
        // Mirror the image's merged-/usr links (/bin -> usr/bin, ...) so every path the
        // image's tools and scripts use resolves the same way in the initramfs.
        for top in ["bin", "sbin", "lib", "lib64", "lib32"] {
            if let Ok(target) = std::fs::read_link(root.join(top)) {
                tree.symlink(&Path::new("/").join(top), &target);
            }
        }
        for d in [
            "/bin",
            "/sbin",
            "/dev",
            "/proc",
            "/sys",
            "/run",
            "/tmp",
            "/etc/luna",
            "/mnt",
            "/sysroot",
        ] {
            let real = tree.real_path(Path::new(d));
            tree.dir(&real);
        }
        tree.char_device(Path::new("/dev/console"), 5, 1, 0o600);
        tree.char_device(Path::new("/dev/null"), 1, 3, 0o666);

        // busybox
        let busybox = match &o.busybox {
            Some(p) if p.is_file() => p.clone(),
            Some(p) => {
                return Err(InitramfsError::NoBusybox(format!(
                    "{} does not exist",
                    p.display()
                )));
            }
            None => resolve_in_root(root, Path::new("/bin/busybox"))
                .ok()
                .filter(|p| p.is_file())
                .ok_or_else(|| InitramfsError::NoBusybox("the image has no /bin/busybox".into()))?,
        };
        let busybox_needs =
            elf_deps::elf_needs(&busybox).map_err(|e| InitramfsError::NoBusybox(e.to_string()))?;
        let bin = tree.real_path(Path::new("/bin"));
        tree.host_file(&bin.join("busybox"), &busybox, 0o755);
        tree.symlink(&bin.join("sh"), Path::new("busybox"));
        tree.data(
            Path::new("/init"),
            init_script(&o.agent_args).into_bytes(),
            0o755,
        );

        // The agent
        let agent_needs = elf_deps::elf_needs(&o.agent_binary)
            .map_err(|e| InitramfsError::Agent {
                path: o.agent_binary.clone(),
                reason: e.to_string(),
            })?
            .ok_or_else(|| InitramfsError::Agent {
                path: o.agent_binary.clone(),
                reason: "not an ELF executable".into(),
            })?;
        tree.host_file(&bin.join("luna-agent"), &o.agent_binary, 0o755);

        // The agent's torrent client (librqbit's HTTP client) refuses to start without system CA
        // certificates, even for a plain-HTTP tracker: carry the image's bundle, else the host's.
        let ca_bundle = resolve_in_root(root, Path::new(CA_BUNDLE))
            .ok()
            .filter(|p| p.is_file())
            .or_else(|| Some(PathBuf::from(CA_BUNDLE)).filter(|p| p.is_file()));
        match ca_bundle {
            Some(src) => {
                let dest = tree.real_path(Path::new(CA_BUNDLE));
                tree.host_file(&dest, &src, 0o644);
            }
            None => warnings.push(format!(
                "no CA certificates ({CA_BUNDLE}) in the image or on the host; the agent cannot download the image without them (install ca-certificates)"
            )),
        }

        // Modules
        let modules_dir = resolve_in_root(root, &Path::new("/lib/modules").join(&o.kernel_version))
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| InitramfsError::NoModules {
                version: o.kernel_version.clone(),
                dir: root.join("lib/modules").join(&o.kernel_version),
            })?;
        let wanted: Vec<&str> = o.modules.iter().map(String::as_str).collect();
        let sel = modules::select_modules(&modules_dir, &wanted).map_err(|source| {
            InitramfsError::Image {
                path: modules_dir.clone(),
                source,
            }
        })?;
        let ko_root = tree.real_path(&Path::new("/lib/modules").join(&o.kernel_version));
        for m in &sel.ordered {
            tree.host_file(&ko_root.join(m), &modules_dir.join(m), 0o644);
        }
        for m in &sel.unknown_deps {
            warnings.push(format!("module {m}: dependencies unknown (compressed and no modules.dep); run depmod in the image"));
        }
        let list: String = sel
            .ordered
            .iter()
            .map(|m| format!("{}\n", m.display()))
            .collect();
        tree.data(Path::new("/etc/luna/modules"), list.into_bytes(), 0o644);

        // Tools from the image
        let mut tools = Vec::new();
        let mut tool_paths = Vec::new();
        for t in &o.tools {
            let found = TOOL_DIRS
                .iter()
                .map(|d| Path::new(d).join(t))
                .find(|p| resolve_in_root(root, p).is_ok_and(|h| h.is_file()));
            match found {
                Some(p) => {
                    let real = tree.image_file(root, &p).map_err(|source| InitramfsError::Image {
                        path: p.clone(),
                        source,
                    })?;
                    tool_paths.push(real);
                    tools.push((t.clone(), p));
                }
                None => warnings.push(format!(
                    "tool {t} is not in the image ({}); install it there if partition scripts need it",
                    TOOL_DIRS.join(", ")
                )),
            }
        }
        let mut from_image = tool_paths.clone();
        if o.busybox.is_none()
            && busybox_needs
                .as_ref()
                .is_some_and(|n| n.interpreter.is_some())
        {
            from_image.push(PathBuf::from("/bin/busybox"));
        }
        let (libs, missing) = elf_deps::library_closure(root, &from_image).map_err(|source| {
            InitramfsError::Image {
                path: root.clone(),
                source,
            }
        })?;
        let mut libraries = Vec::new();
        for lib in &libs {
            let real = tree
                .image_file(root, lib)
                .map_err(|source| InitramfsError::Image {
                    path: lib.clone(),
                    source,
                })?;
            libraries.push(real);
        }
        for m in missing {
            warnings.push(format!(
                "shared library {m} needed by the tools is not in the image"
            ));
        }
        if o.busybox.is_some() && busybox_needs.is_some_and(|n| n.interpreter.is_some()) {
            warnings.push(format!(
                "busybox {} is dynamically linked; use Debian's busybox-static",
                busybox.display()
            ));
        }
        if agent_needs.interpreter.is_some() {
            // A dynamic agent (a debug build) still works if its libraries come along.
            let (host_libs, host_missing) =
                elf_deps::library_closure(Path::new("/"), std::slice::from_ref(&o.agent_binary))
                    .map_err(|e| InitramfsError::Agent {
                        path: o.agent_binary.clone(),
                        reason: e.to_string(),
                    })?;
            for lib in host_libs {
                if !tree.contains(&lib) {
                    let _ = tree.image_file(Path::new("/"), &lib);
                }
            }
            warnings.push(format!(
                "{} is dynamically linked; its host libraries were added (build it for x86_64-unknown-linux-musl to avoid that){}",
                o.agent_binary.display(),
                if host_missing.is_empty() {
                    String::new()
                } else {
                    format!("; missing: {}", host_missing.into_iter().collect::<Vec<_>>().join(", "))
                }
            ));
        }

        // Write compressed, then rename into place.
        let tmp = out.with_file_name(format!(
            ".{}.partial",
            out.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        let werr = |source| InitramfsError::Write {
            path: out.to_path_buf(),
            source,
        };
        if let Some(dir) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(werr)?;
        }
        let written = (|| -> std::io::Result<()> {
            let file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            let file = match o.compression {
                Compression::Gzip => {
                    let enc = flate2::write::GzEncoder::new(file, flate2::Compression::default());
                    tree.write_newc(enc)?.finish()?
                }
                Compression::Zstd => {
                    let enc = zstd::stream::Encoder::new(file, 9)?;
                    tree.write_newc(enc)?.finish()?
                }
            };
            let mut f = file.into_inner().map_err(|e| e.into_error())?;
            f.flush()?;
            f.sync_all()?;
            std::fs::rename(&tmp, out)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(werr(e));
        }
        let size = std::fs::metadata(out).map_err(werr)?.len();
        Ok(InitramfsReport {
            path: out.to_path_buf(),
            size,
            modules: sel.ordered,
            tools,
            libraries,
            warnings,
        })
    }
}
