#!/usr/bin/env bash
# Runs Luna's whole test suite on a fresh machine of this kind: installs what the tests need
# (Debian packages, the wasm32-wasip2 target), then `cargo test --workspace`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/luna-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Debian packages used by the tests as real peers (DHCP/DNS/TFTP clients, simulators, VMs).
APT_PACKAGES=(busybox-static cpio isc-dhcp-client dnsmasq bind9-dnsutils bind9-utils isc-dhcp-server
  kea-dhcp4-server tftp-hpa ipxe qemu-system-x86 ipxe-qemu qemu-system-data
  openipmi ipmitool snmp e2fsprogs util-linux coreutils iproute2
  musl-tools debootstrap fdisk qemu-utils iputils-ping wrk)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The QEMU tests fetch a kernel package with `apt-get download`, which needs the package lists.
if [ "$(id -u)" = 0 ] && ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
  apt-get update -qq
fi
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "missing Debian packages: ${missing[*]} (run as root or install them)" >&2
    exit 1
  fi
fi

# Python simulators (SNMP switch, Redfish BMC) in a venv the plugin tests look in.
PYENV_DIR="$HOME/.cache/luna-pyenv"
if [ ! -x "$PYENV_DIR/bin/snmpsim-command-responder" ] || [ ! -x "$PYENV_DIR/bin/sushy-emulator" ]; then
  python3 -m venv "$PYENV_DIR"
  "$PYENV_DIR/bin/pip" install -q snmpsim pysmi sushy-tools
fi
export PATH="$PATH:$PYENV_DIR/bin"

rustup target add wasm32-wasip2
# The VM tests build the static luna-agent (musl) for the initramfs.
rustup target add x86_64-unknown-linux-musl

cargo test --workspace "$@"
