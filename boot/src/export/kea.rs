//! Kea DHCPv4 export (`luna cluster makedhcp --format kea`): a complete `kea-dhcp4.conf`.

use serde_json::{Value, json};

use super::dhcp_model::{DhcpExport, ExportError};

const IPXE_TEST: &str = "substring(option[77].hex,0,4) == 'iPXE'";

pub fn kea_dhcp4_conf(export: &DhcpExport) -> Result<String, ExportError> {
    export.validate()?;
    let not_ipxe = format!("not ({IPXE_TEST})");
    let mut classes = vec![
        json!({
            "name": "luna-efi64",
            "test": format!("(option[93].hex == 0x0007 or option[93].hex == 0x0009) and {not_ipxe}"),
            "boot-file-name": export.boot_files.efi_x64,
        }),
        json!({
            "name": "luna-bios",
            "test": format!("option[93].hex == 0x0000 and {not_ipxe}"),
            "boot-file-name": export.boot_files.bios,
        }),
    ];
    if let Some(f) = &export.boot_files.efi_ia32 {
        classes.push(json!({
            "name": "luna-efi32",
            "test": format!("option[93].hex == 0x0006 and {not_ipxe}"),
            "boot-file-name": f,
        }));
    }
    if let Some(f) = &export.boot_files.efi_arm64 {
        classes.push(json!({
            "name": "luna-arm64",
            "test": format!("option[93].hex == 0x000b and {not_ipxe}"),
            "boot-file-name": f,
        }));
    }
    let mut subnets = Vec::new();
    let mut interfaces: Vec<String> = Vec::new();
    for (i, es) in export.subnets.iter().enumerate() {
        // The iPXE URL names the Luna address on this subnet, so its class is per subnet and
        // evaluated once the subnet is chosen.
        let ipxe_class = format!("luna-ipxe-{}", i + 1);
        let url = export.ipxe_url_for(es.server_ip);
        classes.push(json!({
            "name": ipxe_class,
            "test": IPXE_TEST,
            "only-if-required": true,
            "boot-file-name": url,
            "option-data": [{ "name": "boot-file-name", "data": url }],
        }));
        let mut options = Vec::new();
        if !es.subnet.routers.is_empty() {
            options.push(json!({ "name": "routers", "data": join(&es.subnet.routers) }));
        }
        if !es.subnet.dns_servers.is_empty() {
            options.push(
                json!({ "name": "domain-name-servers", "data": join(&es.subnet.dns_servers) }),
            );
        }
        if let Some(domain) = &es.subnet.domain {
            options.push(json!({ "name": "domain-name", "data": domain }));
        }
        let reservations: Vec<Value> = export
            .hosts_in(&es.subnet)
            .map(|h| {
                let mut r = json!({
                    "hw-address": h.mac.to_string(),
                    "ip-address": h.ip.to_string(),
                    "hostname": h.name,
                });
                if let Some(file) = &h.boot_file {
                    // A reservation's boot-file-name would also override the iPXE URL (a boot
                    // loop), so the per-machine UEFI binary is only recorded here.
                    r["user-context"] = json!({ "luna-uefi-boot-file": file });
                }
                r
            })
            .collect();
        let mut subnet = json!({
            "id": i + 1,
            "subnet": es.subnet.network.to_string(),
            "next-server": es.server_ip.to_string(),
            "option-data": options,
            "require-client-classes": [ipxe_class],
            "reservations": reservations,
        });
        if let Some(range) = es.subnet.range {
            subnet["pools"] = json!([{ "pool": format!("{} - {}", range.start, range.end) }]);
        }
        if let Some(iface) = &es.interface {
            subnet["interface"] = json!(iface);
            if !interfaces.contains(iface) {
                interfaces.push(iface.clone());
            }
        }
        subnets.push(subnet);
    }
    if interfaces.is_empty() {
        interfaces.push("*".into());
    }
    let conf = json!({
        "Dhcp4": {
            "interfaces-config": { "interfaces": interfaces },
            "lease-database": { "type": "memfile", "lfc-interval": 3600 },
            "valid-lifetime": export.lease_secs,
            "authoritative": true,
            "client-classes": classes,
            "subnet4": subnets,
        }
    });
    serde_json::to_string_pretty(&conf).map_err(|e| ExportError(format!("Kea JSON: {e}")))
}

fn join(ips: &[std::net::Ipv4Addr]) -> String {
    ips.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
