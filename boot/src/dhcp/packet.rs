//! Decoding untrusted DHCP bytes. dhcproto 0.15 `debug_assert!`s some option lengths and
//! subtracts from others unchecked (80, 81, 94, 151-155), so a crafted packet panics it in debug
//! builds. Those packets are refused before decoding (no panic, no log noise), and decoding is
//! contained anyway so nothing a client sends can end the server.

use dhcproto::{Decodable, v4::Message};

/// BOOTP header (236 bytes) plus the magic cookie.
const OPTIONS_START: usize = 240;

/// The message, or `None` for anything malformed.
pub fn decode(bytes: &[u8]) -> Option<Message> {
    if !option_lengths_are_sane(bytes) {
        return None;
    }
    std::panic::catch_unwind(|| Message::from_bytes(bytes).ok())
        .ok()
        .flatten()
}

fn option_lengths_are_sane(bytes: &[u8]) -> bool {
    let Some(mut rest) = bytes.get(OPTIONS_START..) else {
        return false;
    };
    loop {
        match rest {
            [] | [255, ..] => return true,
            [0, tail @ ..] => rest = tail,
            [code, len, tail @ ..] => {
                let len = usize::from(*len);
                let fits = match code {
                    80 => len == 0,
                    81 => len >= 3,
                    94 => len == 3,
                    151 => len >= 1,
                    152..=155 => len == 4,
                    _ => true,
                };
                if !fits || tail.len() < len {
                    return false;
                }
                rest = &tail[len..];
            }
            [_] => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(options: &[u8]) -> Vec<u8> {
        let mut p = vec![1u8, 1, 6, 0];
        p.extend_from_slice(&[0; 24]);
        p.extend_from_slice(&[0x52, 0x54, 0, 1, 2, 3]);
        p.extend_from_slice(&[0; 10 + 64 + 128]);
        p.extend_from_slice(&[99, 130, 83, 99]);
        p.extend_from_slice(options);
        p
    }

    #[test]
    fn bad_option_lengths_are_refused_without_panicking() {
        assert!(decode(&packet(&[53, 1, 1, 255])).is_some());
        for bad in [
            &[53, 1, 1, 81, 1, 0, 255][..],
            &[80, 1, 0],
            &[152, 2, 0, 0],
            &[53, 5, 1],
        ] {
            assert!(decode(&packet(bad)).is_none(), "{bad:?}");
        }
        assert!(decode(&[1, 2, 3]).is_none());
    }
}
