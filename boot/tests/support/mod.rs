//! Test support: network namespaces with veth links, running servers inside one, a stand-in boot
//! HTTP endpoint and a tiny initramfs builder.
#![allow(dead_code)]

pub mod boot_http;
pub mod dhcp_client;
pub mod initramfs;
pub mod kernel;
pub mod netns;
