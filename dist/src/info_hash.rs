//! The BitTorrent v1 info-hash that names a packed image everywhere (tracker, seeder, agent).

use std::fmt;
use std::str::FromStr;

/// A 20-byte SHA-1 info-hash, shown as 40 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash(pub [u8; 20]);

impl InfoHash {
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub(crate) fn to_id20(self) -> librqbit::dht::Id20 {
        librqbit::dht::Id20::new(self.0)
    }

    pub(crate) fn from_id20(id: librqbit::dht::Id20) -> Self {
        InfoHash(id.0)
    }
}

impl fmt::Display for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({})", self.to_hex())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not an info-hash: expected 40 hex digits")]
pub struct BadInfoHash(String);

impl FromStr for InfoHash {
    type Err = BadInfoHash;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 20];
        hex::decode_to_slice(s.trim(), &mut out).map_err(|_| BadInfoHash(s.to_string()))?;
        Ok(InfoHash(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects_bad_input() {
        let h: InfoHash = "0123456789abcdef0123456789abcdef01234567".parse().unwrap();
        assert_eq!(h.to_string(), "0123456789abcdef0123456789abcdef01234567");
        assert!("0123".parse::<InfoHash>().is_err());
        assert!(
            "zz23456789abcdef0123456789abcdef01234567"
                .parse::<InfoHash>()
                .is_err()
        );
    }
}
