//! A power plugin as a vendor built it against luna-sdk 0.1, before `identify` and
//! `set-next-boot` existed: generated straight from the frozen `wit/v0.1`, so the host's tests
//! can check that 0.1 components keep loading and answering next to 0.2 ones.
#![allow(unsafe_code)] // the generated canonical-ABI glue is unsafe by nature

wit_bindgen::generate!({
    path: "../../../wit/v0.1",
    world: "power",
});

use exports::luna::provision::power_hook::Guest;
use luna::provision::types::{Node, PowerAction, PowerState};

struct PowerV01;

impl Guest for PowerV01 {
    fn validate_config() -> Result<(), String> {
        Ok(())
    }

    /// Always on: the tests need a 0.1 answer, not a BMC.
    fn power(_node: Node, action: PowerAction) -> Result<PowerState, String> {
        Ok(match action {
            PowerAction::Off => PowerState::Off,
            _ => PowerState::On,
        })
    }
}

#[cfg(target_arch = "wasm32")]
export!(PowerV01);
