//! Types shared by the Luna host, the node agent and plugins: serde only, no heavy dependencies.
//! Each module is owned by one concern.

pub mod boot;
pub mod dist;
pub mod plan;
pub mod plugin;
pub mod status;
