//! The plugin benchmark as a test, so it also runs (smaller) in the normal suite and checks the
//! goals loosely: `cargo test -p luna-plugin-host --test bench -- --nocapture` prints numbers.

mod support;

#[test]
fn plugin_calls_are_fast_enough() {
    let rt = support::runtime();
    let gpt = rt.load("gpt-simple", &support::wasm("gpt-simple")).unwrap();
    let grub = rt.load("grub-post", &support::wasm("grub-post")).unwrap();
    let diskless = rt
        .load("diskless", &support::rhai("diskless.rhai"))
        .unwrap();
    let nodes = std::env::var("LUNA_BENCH_NODES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let report = luna_plugin_host::bench::run(&rt, &gpt, &grub, &diskless, nodes).unwrap();
    println!("{report}");
    // Generous bounds (debug builds, shared CI cores): catch regressions by an order of magnitude.
    assert!(report.wasm_call.as_secs_f64() < 0.010, "{report}");
    assert!(report.rhai_call.as_secs_f64() < 0.002, "{report}");
}
