//! The BMC setup script (pure: unit-tested natively).

use luna_sdk::Node;
use serde::Deserialize;
use std::fmt::Write;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub retries: u32,
    pub delay_s: u32,
    pub cold_reset: bool,
    /// IPMI privilege level for the user (4 = administrator).
    pub privilege: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            retries: 5,
            delay_s: 2,
            cold_reset: true,
            privilege: 4,
        }
    }
}

impl Config {
    pub fn check(&self) -> Result<(), String> {
        if !(1..=20).contains(&self.retries) {
            return Err(format!(
                "ipmi-lan: retries must be 1..20, not {}",
                self.retries
            ));
        }
        if !(1..=5).contains(&self.privilege) {
            return Err(format!(
                "ipmi-lan: privilege must be 1..5 (4 = administrator), not {}",
                self.privilege
            ));
        }
        Ok(())
    }
}

/// Single-quote for sh: the only character that needs care inside '...' is ' itself.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn ipv4(what: &str, value: &str, node: &str) -> Result<Ipv4Addr, String> {
    value.parse().map_err(|_| {
        format!("ipmi-lan: BMC {what} '{value}' of node {node} is not an IPv4 address")
    })
}

/// "255.255.0.0", "/16" or "16" → dotted netmask.
fn netmask(value: &str, node: &str) -> Result<Ipv4Addr, String> {
    let bits = value.trim_start_matches('/');
    if let Ok(len) = bits.parse::<u32>() {
        if len > 32 {
            return Err(format!(
                "ipmi-lan: BMC netmask /{len} of node {node} is longer than 32"
            ));
        }
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        return Ok(Ipv4Addr::from(mask));
    }
    ipv4("netmask", value, node)
}

pub fn render(node: &Node, config: &Config) -> Result<String, String> {
    config.check()?;
    let Some(bmc) = &node.bmc else {
        return Err(format!(
            "ipmi-lan: node {} has no BMC settings; give its group a bmcsetup and the node a BMC address",
            node.name
        ));
    };
    let Some(address) = &bmc.address else {
        return Err(format!(
            "ipmi-lan: node {} has no BMC address; add a BMC interface IP",
            node.name
        ));
    };
    // The address may come with a prefix ("10.149.0.1/16").
    let (address, prefix) = match address.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (address.as_str(), None),
    };
    let ip = ipv4("address", address, &node.name)?;
    let mask = match (&bmc.netmask, prefix) {
        (Some(m), _) => netmask(m, &node.name)?,
        (None, Some(p)) => netmask(p, &node.name)?,
        (None, None) => {
            return Err(format!("ipmi-lan: node {} has no BMC netmask", node.name));
        }
    };
    let gateway = bmc
        .gateway
        .as_deref()
        .map(|g| ipv4("gateway", g, &node.name))
        .transpose()?;
    if bmc.user.is_empty() || bmc.user.len() > 16 {
        return Err(format!(
            "ipmi-lan: BMC user name must be 1..16 characters (node {})",
            node.name
        ));
    }
    if bmc.password.is_empty() || bmc.password.len() > 20 {
        return Err(format!(
            "ipmi-lan: BMC password must be 1..20 characters (node {})",
            node.name
        ));
    }
    let (ch, id) = (bmc.net_channel, bmc.user_id);
    let pw_size = if bmc.password.len() > 16 { 20 } else { 16 };

    let mut s = String::new();
    let _ = writeln!(s, "# BMC setup for {} by ipmi-lan", node.name);
    let _ = writeln!(s, "set -u");
    let _ = writeln!(
        s,
        "for m in ipmi_msghandler ipmi_devintf ipmi_si; do modprobe $m 2>/dev/null || true; done"
    );
    let _ = writeln!(s, "RETRIES={}", config.retries);
    let _ = writeln!(s, "DELAY={}", config.delay_s);
    let _ = writeln!(s, "CH={ch}");
    let _ = writeln!(s, "BMC_USER_ID={id}");
    let _ = writeln!(s, "BMC_USER={}", quote(&bmc.user));
    let _ = writeln!(s, "BMC_PASSWORD={}", quote(&bmc.password));
    s.push_str(
        r#"fail() { echo "ipmi-lan: $*" >&2; exit 1; }
lan_value() { ipmitool lan print "$CH" 2>/dev/null | sed -n "s/^$1 *: *//p" | head -n 1; }
# set_lan FIELD WANTED ARGS...: run "ipmitool lan set $CH ARGS" until "lan print" shows WANTED.
set_lan() {
  field=$1; want=$2; shift 2; n=0
  while :; do
    ipmitool lan set "$CH" "$@" >/dev/null 2>&1
    got=$(lan_value "$field")
    [ "$got" = "$want" ] && return 0
    n=$((n + 1)); [ "$n" -ge "$RETRIES" ] && fail "$field is '$got' after $n attempts, expected '$want'"
    sleep "$DELAY"
  done
}
# retry CHECK -- ARGS...: run "ipmitool ARGS" until CHECK (a shell function) succeeds.
retry() {
  check=$1; shift 2; n=0
  while :; do
    ipmitool "$@" >/dev/null 2>&1
    "$check" && return 0
    n=$((n + 1)); [ "$n" -ge "$RETRIES" ] && fail "'ipmitool $1 $2 ...' did not take effect after $n attempts"
    sleep "$DELAY"
  done
}
user_named() { ipmitool user list "$CH" 2>/dev/null | awk -v id="$BMC_USER_ID" '$1 == id { print $2 }' | grep -qx "$BMC_USER"; }
password_ok() { ipmitool user test "$BMC_USER_ID" PWSIZE "$BMC_PASSWORD" 2>/dev/null | grep -q Success; }
always() { true; }
"#
        .replace("PWSIZE", &pw_size.to_string())
        .as_str(),
    );
    let _ = writeln!(
        s,
        "set_lan 'IP Address Source' 'Static Address' ipsrc static"
    );
    let _ = writeln!(s, "set_lan 'IP Address' '{ip}' ipaddr {ip}");
    let _ = writeln!(s, "set_lan 'Subnet Mask' '{mask}' netmask {mask}");
    if let Some(gw) = gateway {
        let _ = writeln!(s, "set_lan 'Default Gateway IP' '{gw}' defgw ipaddr {gw}");
    }
    let _ = writeln!(
        s,
        "retry user_named -- user set name \"$BMC_USER_ID\" \"$BMC_USER\""
    );
    let _ = writeln!(
        s,
        "retry password_ok -- user set password \"$BMC_USER_ID\" \"$BMC_PASSWORD\""
    );
    let _ = writeln!(
        s,
        "retry always -- channel setaccess \"$CH\" \"$BMC_USER_ID\" link=on ipmi=on callin=on privilege={}",
        config.privilege
    );
    let _ = writeln!(s, "retry always -- user enable \"$BMC_USER_ID\"");
    let _ = writeln!(
        s,
        "ipmitool lan set \"$CH\" access on >/dev/null 2>&1 || true"
    );
    if config.cold_reset {
        let _ = writeln!(s, "ipmitool mc reset cold >/dev/null 2>&1 || true");
    }
    let _ = writeln!(
        s,
        "echo \"ipmi-lan: BMC of {} set to {ip}/{mask}\"",
        node.name
    );
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use luna_sdk::{BmcSettings, BootFirmware, Group, Osimage};

    fn node(address: Option<&str>, netmask: Option<&str>, password: &str) -> Node {
        Node {
            name: "node001".into(),
            hostname: "node001".into(),
            group: Group {
                name: "compute".into(),
                domain: None,
            },
            osimage: Osimage {
                name: "el9".into(),
                kernel_version: None,
                distribution: None,
            },
            firmware: BootFirmware::Bios,
            interfaces: vec![],
            disks: vec![],
            bmc: Some(BmcSettings {
                address: address.map(Into::into),
                netmask: netmask.map(Into::into),
                gateway: None,
                port: None,
                user_id: 3,
                user: "admin".into(),
                password: password.into(),
                net_channel: 1,
                mgmt_channel: 1,
            }),
        }
    }

    #[test]
    fn prefix_length_becomes_a_netmask() {
        let s = render(&node(Some("10.149.0.1/16"), None, "pw"), &Config::default()).unwrap();
        assert!(s.contains("netmask 255.255.0.0"), "{s}");
    }

    #[test]
    fn quotes_in_password_are_escaped() {
        let s = render(
            &node(Some("10.149.0.1"), Some("255.255.0.0"), "a'b"),
            &Config::default(),
        )
        .unwrap();
        assert!(s.contains(r"BMC_PASSWORD='a'\''b'"), "{s}");
    }

    #[test]
    fn missing_address_names_the_fix() {
        let err = render(&node(None, None, "pw"), &Config::default()).unwrap_err();
        assert!(err.contains("add a BMC interface IP"), "{err}");
    }
}
