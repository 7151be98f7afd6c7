//! `cargo bench -p luna-plugin-host`: warm WASM hook latency, Rhai hook latency, and 10,000
//! partition + post-install renders (goals: < 1 ms, < 0.2 ms, < 5 s).

#[path = "../tests/support/mod.rs"]
mod support;

fn main() {
    let rt = support::runtime();
    let gpt = rt
        .load("gpt-simple", &support::wasm("gpt-simple"))
        .expect("gpt-simple");
    let grub = rt
        .load("grub-post", &support::wasm("grub-post"))
        .expect("grub-post");
    let diskless = rt
        .load("diskless", &support::rhai("diskless.rhai"))
        .expect("diskless");
    let report = luna_plugin_host::bench::run(&rt, &gpt, &grub, &diskless, 10_000).expect("bench");
    println!("{report}");
}
