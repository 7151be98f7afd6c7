//! What the operator sees on the node's console: a banner per step, and on failure a framed
//! message naming the step, the reason and what happens next (the initramfs then offers a
//! shell: the node never just hangs).

pub fn step(name: &str, what: &str) {
    eprintln!("luna-agent: == {name}: {what}");
}

/// The failure banner; `tail` is the step's last output.
pub fn failure(step: &str, reason: &str, tail: &[String]) -> String {
    let mut s = String::new();
    s.push_str("\n**************************************************************\n");
    s.push_str(&format!("* Luna install FAILED in step '{step}'\n"));
    s.push_str(&format!("* {reason}\n"));
    if !tail.is_empty() {
        s.push_str("* last output:\n");
        for l in tail {
            s.push_str(&format!("*   {l}\n"));
        }
    }
    s.push_str("* The host has this report ('luna node show NODE').\n");
    s.push_str("* A shell follows; fix and reboot, or power-cycle to retry.\n");
    s.push_str("**************************************************************\n");
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn failure_banner_names_step_reason_and_output() {
        let b = super::failure(
            "partscript",
            "exit code 3",
            &["sfdisk: /dev/sda: no such device".into()],
        );
        assert!(b.contains("step 'partscript'"));
        assert!(b.contains("exit code 3"));
        assert!(b.contains("sfdisk: /dev/sda"));
        assert!(b.contains("shell"));
    }
}
