//! Luna's object model: the objects, their validation rules and address allocation.

pub mod error;
pub mod hostlist;
pub mod ipalloc;
pub mod mac;
pub mod names;
pub mod objects;
pub mod plugin;

pub use error::{ErrorKind, LunaError, Result};
pub use objects::*;
pub use plugin::*;
