//! Test support: network namespaces with veth links, and running a server inside one.
#![allow(dead_code)]

pub mod netns;
