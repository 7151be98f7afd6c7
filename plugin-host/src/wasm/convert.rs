//! proto (serde) types ⇄ generated WIT types. Field for field; kept in one place so a new WIT
//! field is one edit here.

use super::bindings::types as wit;
use luna_proto::plugin as proto;

pub fn node(n: &proto::NodeContext) -> wit::Node {
    wit::Node {
        name: n.name.clone(),
        hostname: n.hostname.clone(),
        group: wit::Group {
            name: n.group.name.clone(),
            domain: n.group.domain.clone(),
        },
        osimage: wit::Osimage {
            name: n.osimage.name.clone(),
            kernel_version: n.osimage.kernel_version.clone(),
            distribution: n.osimage.distribution.clone(),
        },
        firmware: match n.firmware {
            proto::BootFirmware::Bios => wit::BootFirmware::Bios,
            proto::BootFirmware::Uefi => wit::BootFirmware::Uefi,
        },
        interfaces: n
            .interfaces
            .iter()
            .map(|i| wit::NodeInterface {
                name: i.name.clone(),
                mac: i.mac.clone(),
                addresses: i.addresses.clone(),
                network: i.network.as_ref().map(|net| wit::Network {
                    name: net.name.clone(),
                    prefix: net.prefix.clone(),
                    gateway: net.gateway.clone(),
                    domain: net.domain.clone(),
                }),
            })
            .collect(),
        disks: n
            .disks
            .iter()
            .map(|d| wit::Disk {
                device: d.device.clone(),
                size_bytes: d.size_bytes,
                model: d.model.clone(),
                rotational: d.rotational,
                removable: d.removable,
            })
            .collect(),
        bmc: n.bmc.as_ref().map(|b| wit::BmcSettings {
            address: b.address.clone(),
            netmask: b.netmask.clone(),
            gateway: b.gateway.clone(),
            port: b.port,
            user_id: b.user_id,
            user: b.user.clone(),
            password: b.password.clone(),
            net_channel: b.net_channel,
            mgmt_channel: b.mgmt_channel,
        }),
    }
}

pub fn switch(s: &proto::SwitchContext) -> wit::SwitchInfo {
    wit::SwitchInfo {
        name: s.name.clone(),
        address: s.address.clone(),
        port: s.port,
    }
}

pub fn plan_to_wit(p: &proto::PartitionPlan) -> wit::PartitionPlan {
    wit::PartitionPlan {
        script: p.script.clone(),
        mounts: p
            .mounts
            .iter()
            .map(|m| wit::Mount {
                source: m.source.clone(),
                target: m.target.clone(),
                fstype: m.fstype.clone(),
                options: m.options.clone(),
            })
            .collect(),
        boot_devices: p.boot_devices.clone(),
    }
}

pub fn plan_from_wit(p: wit::PartitionPlan) -> proto::PartitionPlan {
    proto::PartitionPlan {
        script: p.script,
        mounts: p
            .mounts
            .into_iter()
            .map(|m| proto::Mount {
                source: m.source,
                target: m.target,
                fstype: m.fstype,
                options: m.options,
            })
            .collect(),
        boot_devices: p.boot_devices,
    }
}

pub fn port_entry(e: wit::PortEntry) -> proto::PortEntry {
    proto::PortEntry {
        mac: e.mac,
        bridge_port: e.bridge_port,
        if_index: e.if_index,
        if_name: e.if_name,
        vlan: e.vlan,
    }
}

pub fn power_action(a: proto::PowerAction) -> wit::PowerAction {
    match a {
        proto::PowerAction::Status => wit::PowerAction::Status,
        proto::PowerAction::On => wit::PowerAction::On,
        proto::PowerAction::Off => wit::PowerAction::Off,
        proto::PowerAction::Cycle => wit::PowerAction::Cycle,
        proto::PowerAction::Reset => wit::PowerAction::Reset,
    }
}

pub fn power_state(s: wit::PowerState) -> proto::PowerState {
    match s {
        wit::PowerState::On => proto::PowerState::On,
        wit::PowerState::Off => proto::PowerState::Off,
    }
}
