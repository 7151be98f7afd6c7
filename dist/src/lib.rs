//! Image distribution for Luna: kernel detection, image packing (tar + zstd + .torrent), the
//! unpacker the agent uses, the initramfs builder, the host's torrent seeder, the BitTorrent
//! tracker, and the swarm benchmark.

pub mod bench;
pub mod info_hash;
pub mod initramfs;
pub mod kernel;
pub mod tracker;

pub use info_hash::InfoHash;
pub use kernel::{KernelVersion, choose_kernel, detect_kernels};
pub use tracker::{PeerCounts, Tracker, TrackerSettings};
pub mod manifest;
pub mod pack;
pub mod sample_image;
pub mod seeder;
pub mod super_seed;
pub mod unpack;

pub use bench::{BenchMode, Row, SwarmBenchOptions, run_swarm_bench};
pub use initramfs::{
    Compression, InitramfsBuilder, InitramfsError, InitramfsOptions, InitramfsReport,
};
pub use pack::{ImagePacker, PackError, PackOptions, PackProgress, PackedImage};
pub use seeder::{HostOffers, SeedState, SeededImage, SeederError, SeederOptions, TorrentSeeder};
pub use unpack::{UnpackError, UnpackStats, unpack};
