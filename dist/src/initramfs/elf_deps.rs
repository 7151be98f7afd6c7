//! Shared-library closure of ELF executables inside an image: DT_NEEDED entries and the
//! program interpreter, resolved against the image's library directories (not the host's).

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use goblin::elf::Elf;

use super::image_path::resolve_in_root;

/// Library directories searched, in the order the dynamic loader uses for a Debian/RHEL root.
const LIB_DIRS: &[&str] = &[
    "lib/x86_64-linux-gnu",
    "usr/lib/x86_64-linux-gnu",
    "lib/aarch64-linux-gnu",
    "usr/lib/aarch64-linux-gnu",
    "lib64",
    "usr/lib64",
    "lib",
    "usr/lib",
];

/// What an ELF file needs at run time.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ElfNeeds {
    /// PT_INTERP, e.g. `/lib64/ld-linux-x86-64.so.2`; `None` for static binaries.
    pub interpreter: Option<String>,
    /// DT_NEEDED sonames.
    pub needed: Vec<String>,
}

/// Reads the interpreter and DT_NEEDED entries of an ELF file; `None` if it is not ELF
/// (a shell script, say).
pub fn elf_needs(path: &Path) -> std::io::Result<Option<ElfNeeds>> {
    let bytes = std::fs::read(path)?;
    if !bytes.starts_with(b"\x7fELF") {
        return Ok(None);
    }
    let elf = Elf::parse(&bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is not a readable ELF file: {e}", path.display()),
        )
    })?;
    Ok(Some(ElfNeeds {
        interpreter: elf.interpreter.map(str::to_string),
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
    }))
}

/// The libraries (image-absolute paths like `/lib/x86_64-linux-gnu/libc.so.6`) the given
/// executables need, transitively. Sonames that cannot be found are returned separately.
pub fn library_closure(
    root: &Path,
    executables: &[PathBuf],
) -> std::io::Result<(BTreeSet<PathBuf>, BTreeSet<String>)> {
    let mut libs = BTreeSet::new();
    let mut missing = BTreeSet::new();
    let mut queue: VecDeque<PathBuf> = executables.iter().cloned().collect();
    let mut seen_sonames = BTreeSet::new();
    while let Some(exe) = queue.pop_front() {
        let host_path = resolve_in_root(root, &exe)?;
        let Some(needs) = elf_needs(&host_path)? else {
            continue;
        };
        if let Some(interp) = needs.interpreter {
            let p = PathBuf::from(&interp);
            if resolve_in_root(root, &p).is_ok_and(|h| h.exists()) {
                if libs.insert(p.clone()) {
                    queue.push_back(p);
                }
            } else {
                missing.insert(interp);
            }
        }
        for soname in needs.needed {
            if !seen_sonames.insert(soname.clone()) {
                continue;
            }
            let found = LIB_DIRS
                .iter()
                .map(|d| Path::new("/").join(d).join(&soname))
                .find(|p| resolve_in_root(root, p).is_ok_and(|h| h.is_file()));
            match found {
                Some(p) => {
                    if libs.insert(p.clone()) {
                        queue.push_back(p);
                    }
                }
                None => {
                    missing.insert(soname);
                }
            }
        }
    }
    Ok((libs, missing))
}
