//! Guest bindings, one module per world. The shared interfaces (types, log, config) are generated
//! once, in `partitioner`, and reused by the other worlds so a `Node` is the same Rust type for
//! every hook.

pub mod partitioner {
    wit_bindgen::generate!({
        path: "../wit/v0.2",
        world: "partitioner",
        pub_export_macro: true,
        export_macro_name: "__export_partitioner_world",
        default_bindings_module: "luna_sdk::bindings::partitioner",
        additional_derives: [PartialEq],
    });
}

pub mod post_install {
    wit_bindgen::generate!({
        path: "../wit/v0.2",
        world: "post-install",
        pub_export_macro: true,
        export_macro_name: "__export_post_install_world",
        default_bindings_module: "luna_sdk::bindings::post_install",
        with: {
            "luna:provision/types@0.2.0": crate::bindings::partitioner::luna::provision::types,
            "luna:provision/log@0.2.0": crate::bindings::partitioner::luna::provision::log,
            "luna:provision/config@0.2.0": crate::bindings::partitioner::luna::provision::config,
        },
    });
}

pub mod bmc {
    wit_bindgen::generate!({
        path: "../wit/v0.2",
        world: "bmc",
        pub_export_macro: true,
        export_macro_name: "__export_bmc_world",
        default_bindings_module: "luna_sdk::bindings::bmc",
        with: {
            "luna:provision/types@0.2.0": crate::bindings::partitioner::luna::provision::types,
            "luna:provision/log@0.2.0": crate::bindings::partitioner::luna::provision::log,
            "luna:provision/config@0.2.0": crate::bindings::partitioner::luna::provision::config,
        },
    });
}

pub mod switch_discovery {
    wit_bindgen::generate!({
        path: "../wit/v0.2",
        world: "switch-discovery",
        pub_export_macro: true,
        export_macro_name: "__export_switch_discovery_world",
        default_bindings_module: "luna_sdk::bindings::switch_discovery",
        additional_derives: [PartialEq],
        with: {
            "luna:provision/types@0.2.0": crate::bindings::partitioner::luna::provision::types,
            "luna:provision/log@0.2.0": crate::bindings::partitioner::luna::provision::log,
            "luna:provision/config@0.2.0": crate::bindings::partitioner::luna::provision::config,
        },
    });
}

pub mod power {
    wit_bindgen::generate!({
        path: "../wit/v0.2",
        world: "power",
        pub_export_macro: true,
        export_macro_name: "__export_power_world",
        default_bindings_module: "luna_sdk::bindings::power",
        additional_derives: [PartialEq],
        with: {
            "luna:provision/types@0.2.0": crate::bindings::partitioner::luna::provision::types,
            "luna:provision/log@0.2.0": crate::bindings::partitioner::luna::provision::log,
            "luna:provision/config@0.2.0": crate::bindings::partitioner::luna::provision::config,
        },
    });
}
