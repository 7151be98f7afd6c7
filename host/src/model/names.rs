//! Object names double as DNS labels (node001.cluster), so they follow the label rules.

use super::error::{LunaError, Result};

pub fn check_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(LunaError::invalid(format!(
            "{what} name '{name}' is not valid; use 1-63 lower-case letters, digits and inner hyphens (it becomes a DNS name)"
        )))
    }
}

/// Interface names: `BOOTIF`, `BMC` or a NIC name such as `eth0`, `ens1f0`, `ib0`, `bond0.100`.
pub fn check_interface_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(LunaError::invalid(format!(
            "interface name '{name}' is not valid; use up to 15 letters, digits, '-', '_', '.' or ':' (e.g. BOOTIF, BMC, eth1, ib0)"
        )))
    }
}

/// Orders `node2` before `node10`: digits runs compare by value.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let xl = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let yl = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let xs = std::str::from_utf8(&x[..xl])
                    .unwrap_or("")
                    .trim_start_matches('0');
                let ys = std::str::from_utf8(&y[..yl])
                    .unwrap_or("")
                    .trim_start_matches('0');
                let ord = xs.len().cmp(&ys.len()).then(xs.cmp(ys)).then(xl.cmp(&yl));
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
                x = &x[xl..];
                y = &y[yl..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dns_label_rules() {
        assert!(check_name("node", "node001").is_ok());
        for bad in ["", "Node1", "-a", "a-", "a_b", "a.b", &"x".repeat(64)] {
            assert!(
                check_name("node", bad)
                    .unwrap_err()
                    .message
                    .contains("node name"),
                "{bad}"
            );
        }
    }

    #[test]
    fn natural_order() {
        let mut v = vec!["node10", "node2", "node1", "login", "node002"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["login", "node1", "node2", "node002", "node10"]);
    }
}
