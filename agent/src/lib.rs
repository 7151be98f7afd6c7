//! The Luna node agent as a library: the image download/seed/unpack step the agent's `fetch`
//! command runs, and which the full install flow calls.

pub mod boot;
pub mod download;
pub mod fetch;
pub mod leave;
pub mod report;
pub mod stripes;

pub use download::{DownloadOptions, ImageDownload};
pub use fetch::{FetchOptions, FetchOutcome, fetch};
