//! Leaving the swarm: librqbit (9.1) never announces `stopped`, so without this a node that
//! has finished and stopped seeding stays in the tracker's peer list until its entry expires
//! (2 × interval): `luna osimage show` counts it, and other nodes keep being sent its address.

use std::time::Duration;

use librqbit::torrent_from_bytes;
use luna_dist::InfoHash;

/// Percent-encodes raw bytes for a query string (BEP 3 `info_hash` / `peer_id`).
fn encode_bytes(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The HTTP tracker URLs a `.torrent` names (UDP trackers are not Luna's).
pub fn http_trackers(torrent: &[u8]) -> Vec<String> {
    let Ok(meta) = torrent_from_bytes(torrent) else {
        return Vec::new();
    };
    let mut urls: Vec<String> = meta
        .iter_announce()
        .filter_map(|u| std::str::from_utf8(u.as_ref()).ok())
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(str::to_string)
        .collect();
    urls.dedup();
    urls
}

/// What a node tells the trackers when it leaves.
#[derive(Debug, Clone)]
pub struct Departure {
    pub trackers: Vec<String>,
    pub info_hash: InfoHash,
    /// The port the node announced (the tracker keys peers by address and port).
    pub port: u16,
    pub uploaded: u64,
    pub downloaded: u64,
    pub left: u64,
}

impl Departure {
    /// The announce URL for tracker `base` with `event=stopped`.
    pub fn url(&self, base: &str) -> String {
        let mut peer_id = *b"-LA0001-000000000000";
        rand::Rng::fill(&mut rand::rng(), &mut peer_id[8..]);
        format!(
            "{base}{}info_hash={}&peer_id={}&port={}&uploaded={}&downloaded={}&left={}&event=stopped&compact=1",
            if base.contains('?') { '&' } else { '?' },
            encode_bytes(self.info_hash.as_bytes()),
            encode_bytes(&peer_id),
            self.port,
            self.uploaded,
            self.downloaded,
            self.left,
        )
    }

    /// Announces `stopped` to every tracker, best effort: a tracker that cannot be reached
    /// expires the entry on its own, so a failure only costs a log line.
    pub async fn announce(&self) {
        let Ok(client) = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
        else {
            return;
        };
        for base in &self.trackers {
            let url = self.url(base);
            match client.get(&url).send().await {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => {
                    tracing::debug!(tracker = %base, status = %r.status(), "stopped announce refused")
                }
                Err(e) => tracing::debug!(tracker = %base, error = %e, "stopped announce failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stopped_url_names_the_node_and_the_event() {
        let d = Departure {
            trackers: vec![],
            info_hash: InfoHash([0xab; 20]),
            port: 6881,
            uploaded: 5,
            downloaded: 7,
            left: 0,
        };
        let url = d.url("http://10.99.0.1:8080/announce");
        assert!(url.starts_with("http://10.99.0.1:8080/announce?info_hash=%AB%AB"));
        assert!(url.contains("&port=6881&uploaded=5&downloaded=7&left=0&event=stopped"));
        let q = d.url("http://h/announce?key=x");
        assert!(q.starts_with("http://h/announce?key=x&info_hash="), "{q}");
    }

    #[test]
    fn encodes_raw_bytes() {
        assert_eq!(encode_bytes(b"a-Z\x00\xff "), "a-Z%00%FF%20");
    }
}
