//! MAC addresses: accepted in the usual spellings, stored and shown as lower-case colon form.

use super::error::{LunaError, Result};

/// Normalises `AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff`, `aa:bb:cc:dd:ee:ff` or `aabbccddeeff`
/// to `aa:bb:cc:dd:ee:ff`.
pub fn normalize_mac(input: &str) -> Result<String> {
    let hex: String = input
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    let separators_ok = {
        let groups: Vec<&str> = input.split([':', '-']).collect();
        groups.len() == 1 || (groups.len() == 6 && groups.iter().all(|g| g.len() == 2))
    } || input.split('.').count() == 3;
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) || !separators_ok {
        return Err(LunaError::invalid(format!(
            "'{input}' is not a MAC address; write it as aa:bb:cc:dd:ee:ff"
        )));
    }
    let hex = hex.to_ascii_lowercase();
    let parts: Vec<&str> = (0..6).map(|i| &hex[i * 2..i * 2 + 2]).collect();
    Ok(parts.join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_spellings() {
        for s in [
            "AA:BB:CC:00:11:22",
            "aa-bb-cc-00-11-22",
            "aabb.cc00.1122",
            "aabbcc001122",
        ] {
            assert_eq!(normalize_mac(s).unwrap(), "aa:bb:cc:00:11:22", "{s}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "aa:bb:cc:00:11",
            "zz:bb:cc:00:11:22",
            "aab:bcc:001:122::",
            "aa:bb:cc:00:11:22:33",
        ] {
            let e = normalize_mac(s).unwrap_err();
            assert!(e.message.contains("aa:bb:cc:dd:ee:ff"), "{s}: {e}");
        }
    }
}
