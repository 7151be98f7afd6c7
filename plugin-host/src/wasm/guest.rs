//! A component's hook export, for each contract version the host runs, and the calls on it with
//! the host's own (proto) types. The rest of the host never sees which version a plugin speaks,
//! except for the 0.2-only power calls, which it checks first (`Contract::has_power_extras`).

use super::bindings::{v0_1, v0_2};
use super::convert;
use super::state::CallState;
use luna_proto::plugin::{
    BootDevice, Hook, NodeContext, PartitionPlan, PortEntry, PowerAction, PowerState, SwitchContext,
};
use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre};

/// A `luna:provision` package version this host links plugins against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contract {
    V0_1,
    V0_2,
}

impl Contract {
    pub const ALL: [Contract; 2] = [Contract::V0_1, Contract::V0_2];

    /// The contract of an export's version ("0.1.0", "0.2.3"); none for versions this host lacks.
    pub fn of_version(version: &str) -> Option<Contract> {
        let minor = |v: &str| version == v || version.starts_with(&format!("{v}."));
        if minor("0.1") {
            Some(Contract::V0_1)
        } else if minor("0.2") {
            Some(Contract::V0_2)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Contract::V0_1 => "0.1",
            Contract::V0_2 => "0.2",
        }
    }

    /// `identify` and `set-next-boot` joined the power hook in 0.2.
    pub fn has_power_extras(self) -> bool {
        self != Contract::V0_1
    }
}

#[derive(Clone)]
pub enum HookExports {
    Partition(v0_1::exports::luna::provision::partition_hook::GuestIndices),
    PostInstall(v0_1::exports::luna::provision::post_install_hook::GuestIndices),
    BmcSetup(v0_1::exports::luna::provision::bmc_hook::GuestIndices),
    SwitchDiscovery(v0_1::exports::luna::provision::discovery_hook::GuestIndices),
    Power(v0_1::exports::luna::provision::power_hook::GuestIndices),
    Partition2(v0_2::exports::luna::provision::partition_hook::GuestIndices),
    PostInstall2(v0_2::exports::luna::provision::post_install_hook::GuestIndices),
    BmcSetup2(v0_2::exports::luna::provision::bmc_hook::GuestIndices),
    SwitchDiscovery2(v0_2::exports::luna::provision::discovery_hook::GuestIndices),
    Power2(v0_2::exports::luna::provision::power_hook::GuestIndices),
}

/// The loaded export of one hook, for one instance.
pub enum HookGuest {
    Partition(v0_1::exports::luna::provision::partition_hook::Guest),
    PostInstall(v0_1::exports::luna::provision::post_install_hook::Guest),
    BmcSetup(v0_1::exports::luna::provision::bmc_hook::Guest),
    SwitchDiscovery(v0_1::exports::luna::provision::discovery_hook::Guest),
    Power(v0_1::exports::luna::provision::power_hook::Guest),
    Partition2(v0_2::exports::luna::provision::partition_hook::Guest),
    PostInstall2(v0_2::exports::luna::provision::post_install_hook::Guest),
    BmcSetup2(v0_2::exports::luna::provision::bmc_hook::Guest),
    SwitchDiscovery2(v0_2::exports::luna::provision::discovery_hook::Guest),
    Power2(v0_2::exports::luna::provision::power_hook::Guest),
}

impl HookExports {
    pub fn new(
        hook: Hook,
        contract: Contract,
        pre: &InstancePre<CallState>,
    ) -> wasmtime::Result<Self> {
        use v0_1::exports::luna::provision as a;
        use v0_2::exports::luna::provision as b;
        Ok(match (contract, hook) {
            (Contract::V0_1, Hook::Partition) => {
                HookExports::Partition(a::partition_hook::GuestIndices::new(pre)?)
            }
            (Contract::V0_1, Hook::PostInstall) => {
                HookExports::PostInstall(a::post_install_hook::GuestIndices::new(pre)?)
            }
            (Contract::V0_1, Hook::BmcSetup) => {
                HookExports::BmcSetup(a::bmc_hook::GuestIndices::new(pre)?)
            }
            (Contract::V0_1, Hook::SwitchDiscovery) => {
                HookExports::SwitchDiscovery(a::discovery_hook::GuestIndices::new(pre)?)
            }
            (Contract::V0_1, Hook::Power) => {
                HookExports::Power(a::power_hook::GuestIndices::new(pre)?)
            }
            (Contract::V0_2, Hook::Partition) => {
                HookExports::Partition2(b::partition_hook::GuestIndices::new(pre)?)
            }
            (Contract::V0_2, Hook::PostInstall) => {
                HookExports::PostInstall2(b::post_install_hook::GuestIndices::new(pre)?)
            }
            (Contract::V0_2, Hook::BmcSetup) => {
                HookExports::BmcSetup2(b::bmc_hook::GuestIndices::new(pre)?)
            }
            (Contract::V0_2, Hook::SwitchDiscovery) => {
                HookExports::SwitchDiscovery2(b::discovery_hook::GuestIndices::new(pre)?)
            }
            (Contract::V0_2, Hook::Power) => {
                HookExports::Power2(b::power_hook::GuestIndices::new(pre)?)
            }
        })
    }

    pub fn load(
        &self,
        store: &mut Store<CallState>,
        instance: &Instance,
    ) -> wasmtime::Result<HookGuest> {
        Ok(match self {
            HookExports::Partition(i) => HookGuest::Partition(i.load(store, instance)?),
            HookExports::PostInstall(i) => HookGuest::PostInstall(i.load(store, instance)?),
            HookExports::BmcSetup(i) => HookGuest::BmcSetup(i.load(store, instance)?),
            HookExports::SwitchDiscovery(i) => HookGuest::SwitchDiscovery(i.load(store, instance)?),
            HookExports::Power(i) => HookGuest::Power(i.load(store, instance)?),
            HookExports::Partition2(i) => HookGuest::Partition2(i.load(store, instance)?),
            HookExports::PostInstall2(i) => HookGuest::PostInstall2(i.load(store, instance)?),
            HookExports::BmcSetup2(i) => HookGuest::BmcSetup2(i.load(store, instance)?),
            HookExports::SwitchDiscovery2(i) => {
                HookGuest::SwitchDiscovery2(i.load(store, instance)?)
            }
            HookExports::Power2(i) => HookGuest::Power2(i.load(store, instance)?),
        })
    }
}

/// What a guest call returns: a wasmtime error (trap, budget) or the guest's own result.
type Call<T> = wasmtime::Result<Result<T, String>>;

/// Guest bindings are matched to the hook before calling, so another variant is a bug.
fn mismatch<T>() -> Call<T> {
    Err(wasmtime::format_err!(
        "internal error: hook export does not match the call"
    ))
}

impl HookGuest {
    pub fn validate_config(&self, store: &mut Store<CallState>) -> Call<()> {
        match self {
            HookGuest::Partition(g) => g.call_validate_config(store),
            HookGuest::PostInstall(g) => g.call_validate_config(store),
            HookGuest::BmcSetup(g) => g.call_validate_config(store),
            HookGuest::SwitchDiscovery(g) => g.call_validate_config(store),
            HookGuest::Power(g) => g.call_validate_config(store),
            HookGuest::Partition2(g) => g.call_validate_config(store),
            HookGuest::PostInstall2(g) => g.call_validate_config(store),
            HookGuest::BmcSetup2(g) => g.call_validate_config(store),
            HookGuest::SwitchDiscovery2(g) => g.call_validate_config(store),
            HookGuest::Power2(g) => g.call_validate_config(store),
        }
    }

    pub fn partition(
        &self,
        store: &mut Store<CallState>,
        node: &NodeContext,
    ) -> Call<PartitionPlan> {
        let node = convert::node(node);
        let out = match self {
            HookGuest::Partition(g) => g.call_partition(store, &node)?,
            HookGuest::Partition2(g) => g.call_partition(store, &node)?,
            _ => return mismatch(),
        };
        Ok(out.map(convert::plan_from_wit))
    }

    pub fn post_install(
        &self,
        store: &mut Store<CallState>,
        node: &NodeContext,
        layout: &PartitionPlan,
    ) -> Call<String> {
        let (node, layout) = (convert::node(node), convert::plan_to_wit(layout));
        match self {
            HookGuest::PostInstall(g) => g.call_post_install(store, &node, &layout),
            HookGuest::PostInstall2(g) => g.call_post_install(store, &node, &layout),
            _ => mismatch(),
        }
    }

    pub fn bmc_setup(&self, store: &mut Store<CallState>, node: &NodeContext) -> Call<String> {
        let node = convert::node(node);
        match self {
            HookGuest::BmcSetup(g) => g.call_bmc_setup(store, &node),
            HookGuest::BmcSetup2(g) => g.call_bmc_setup(store, &node),
            _ => mismatch(),
        }
    }

    pub fn discover(
        &self,
        store: &mut Store<CallState>,
        switch: &SwitchContext,
    ) -> Call<Vec<PortEntry>> {
        let info = convert::switch(switch);
        let out = match self {
            HookGuest::SwitchDiscovery(g) => g.call_discover(store, &info)?,
            HookGuest::SwitchDiscovery2(g) => g.call_discover(store, &info)?,
            _ => return mismatch(),
        };
        Ok(out.map(|entries| entries.into_iter().map(convert::port_entry).collect()))
    }

    pub fn power(
        &self,
        store: &mut Store<CallState>,
        node: &NodeContext,
        action: PowerAction,
    ) -> Call<PowerState> {
        let (node, action) = (convert::node(node), convert::power_action(action));
        let out = match self {
            HookGuest::Power(g) => g.call_power(store, &node, action)?,
            HookGuest::Power2(g) => g.call_power(store, &node, action)?,
            _ => return mismatch(),
        };
        Ok(out.map(convert::power_state))
    }

    /// 0.2 only; the caller refuses 0.1 plugins before instantiating them.
    pub fn identify(&self, store: &mut Store<CallState>, node: &NodeContext, on: bool) -> Call<()> {
        match self {
            HookGuest::Power2(g) => g.call_identify(store, &convert::node(node), on),
            _ => mismatch(),
        }
    }

    /// 0.2 only; the caller refuses 0.1 plugins before instantiating them.
    pub fn set_next_boot(
        &self,
        store: &mut Store<CallState>,
        node: &NodeContext,
        device: BootDevice,
    ) -> Call<()> {
        use v0_2::exports::luna::provision::power_hook::BootDevice as Wit;
        let device = match device {
            BootDevice::Network => Wit::Network,
        };
        match self {
            HookGuest::Power2(g) => g.call_set_next_boot(store, &convert::node(node), device),
            _ => mismatch(),
        }
    }
}
