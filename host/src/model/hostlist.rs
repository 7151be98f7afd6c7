//! Hostlist expressions such as `node[001-064]`, `node[001-003,010]` or `rack[1-2]n[01-04],login1`.
//! Zero padding follows the width of the range's first bound, as in pdsh/Slurm.

use super::error::{LunaError, Result};

/// The most names one expression may produce; larger ones are almost always typos.
const MAX_NAMES: usize = 100_000;

pub fn expand(expr: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for item in split_top_level(expr)? {
        if item.is_empty() {
            return Err(bad(expr, "an empty name between commas"));
        }
        let mut partial = vec![String::new()];
        let mut rest = item.as_str();
        while !rest.is_empty() {
            if let Some(open) = rest.find('[') {
                let close = rest[open..]
                    .find(']')
                    .map(|i| open + i)
                    .ok_or_else(|| bad(expr, "a '[' without its ']'"))?;
                let prefix = &rest[..open];
                let choices = expand_brackets(expr, &rest[open + 1..close])?;
                let mut next = Vec::with_capacity(partial.len() * choices.len());
                for p in &partial {
                    for c in &choices {
                        next.push(format!("{p}{prefix}{c}"));
                    }
                }
                if next.len() > MAX_NAMES {
                    return Err(bad(expr, "more than 100000 names"));
                }
                partial = next;
                rest = &rest[close + 1..];
            } else {
                if rest.contains(']') {
                    return Err(bad(expr, "a ']' without its '['"));
                }
                for p in &mut partial {
                    p.push_str(rest);
                }
                rest = "";
            }
        }
        names.extend(partial);
        if names.len() > MAX_NAMES {
            return Err(bad(expr, "more than 100000 names"));
        }
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    Ok(names)
}

/// True when the text is a hostlist expression rather than a single plain name.
pub fn is_expression(s: &str) -> bool {
    s.contains('[') || s.contains(',')
}

fn bad(expr: &str, why: &str) -> LunaError {
    LunaError::invalid(format!(
        "hostlist '{expr}' has {why}; write ranges like node[001-010] or node[001-003,010]"
    ))
}

fn split_top_level(expr: &str) -> Result<Vec<String>> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for ch in expr.trim().chars() {
        match ch {
            '[' => {
                if depth > 0 {
                    return Err(bad(expr, "nested brackets"));
                }
                depth += 1;
                current.push(ch);
            }
            ']' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| bad(expr, "a ']' without its '['"))?;
                current.push(ch);
            }
            ',' if depth == 0 => items.push(std::mem::take(&mut current)),
            c if c.is_whitespace() => return Err(bad(expr, "white space")),
            c => current.push(c),
        }
    }
    if depth != 0 {
        return Err(bad(expr, "a '[' without its ']'"));
    }
    items.push(current);
    Ok(items)
}

fn expand_brackets(expr: &str, inner: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for part in inner.split(',') {
        match part.split_once('-') {
            Some((lo, hi)) => {
                let (a, b) = (parse_num(expr, lo)?, parse_num(expr, hi)?);
                if a > b {
                    return Err(bad(expr, &format!("the range {lo}-{hi} going backwards")));
                }
                if (b - a) as usize >= MAX_NAMES {
                    return Err(bad(expr, "more than 100000 names"));
                }
                let width = lo.len();
                out.extend((a..=b).map(|n| format!("{n:0width$}")));
            }
            None => {
                parse_num(expr, part)?;
                out.push(part.to_string());
            }
        }
    }
    Ok(out)
}

fn parse_num(expr: &str, s: &str) -> Result<u64> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) || s.len() > 9 {
        return Err(bad(expr, &format!("'{s}' where a number belongs")));
    }
    Ok(s.parse().expect("checked digits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_ranges_lists_and_products() {
        assert_eq!(
            expand("node[001-003,010]").unwrap(),
            ["node001", "node002", "node003", "node010"]
        );
        assert_eq!(
            expand("r[1-2]n[01-02]").unwrap(),
            ["r1n01", "r1n02", "r2n01", "r2n02"]
        );
        assert_eq!(
            expand("login1,node[8-10]").unwrap(),
            ["login1", "node8", "node9", "node10"]
        );
        assert_eq!(expand("node007").unwrap(), ["node007"]);
        assert_eq!(expand("node[001-064]").unwrap().len(), 64);
    }

    #[test]
    fn rejects_malformed() {
        for e in [
            "node[1-",
            "node]1[",
            "node[3-1]",
            "node[a-b]",
            "n[[1]]",
            "a,,b",
            "node [1-2]",
            "n[1-999999999]",
        ] {
            let err = expand(e).unwrap_err();
            assert!(err.message.contains("hostlist"), "{e}: {err}");
        }
    }
}
