//! Parsing of announce and scrape query strings (BEP 3). `info_hash` and `peer_id` are raw
//! bytes percent-encoded into the URL, so the query is decoded by hand rather than as UTF-8.

use std::net::IpAddr;

use crate::info_hash::InfoHash;

/// The `event` of an announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnounceEvent {
    /// A regular re-announce.
    Update,
    Started,
    Completed,
    Stopped,
}

/// A well-formed announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
    pub info_hash: InfoHash,
    pub peer_id: [u8; 20],
    pub port: u16,
    pub uploaded: u64,
    pub downloaded: u64,
    /// Bytes the peer still misses; 0 means it is a seeder.
    pub left: u64,
    pub event: AnnounceEvent,
    pub compact: bool,
    pub no_peer_id: bool,
    pub numwant: Option<usize>,
    /// The `ip` parameter, only used when the connection's address is unknown.
    pub ip: Option<IpAddr>,
}

/// Why an announce or scrape was rejected; the text goes into the bencoded `failure reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("missing parameter `{0}`")]
    Missing(&'static str),
    #[error("parameter `{name}` must be {expected} bytes, got {got}")]
    WrongLength {
        name: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("parameter `{name}` is not valid: {why}")]
    Invalid { name: &'static str, why: String },
}

/// Splits a raw query string into (key, value-bytes) pairs, percent-decoding both.
pub fn query_pairs(query: &str) -> Vec<(String, Vec<u8>)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| -> Vec<u8> {
                // '+' is a space in form encoding; real clients percent-encode a literal '+'.
                let s = s.replace('+', " ");
                percent_encoding::percent_decode_str(&s).collect()
            };
            (String::from_utf8_lossy(&decode(k)).into_owned(), decode(v))
        })
        .collect()
}

fn find<'a>(pairs: &'a [(String, Vec<u8>)], key: &str) -> Option<&'a [u8]> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_slice())
}

fn exact20(name: &'static str, v: &[u8]) -> Result<[u8; 20], RequestError> {
    v.try_into().map_err(|_| RequestError::WrongLength {
        name,
        expected: 20,
        got: v.len(),
    })
}

fn number<T: std::str::FromStr>(name: &'static str, v: &[u8]) -> Result<T, RequestError> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| RequestError::Invalid {
            name,
            why: format!(
                "`{}` is not a non-negative integer in range",
                String::from_utf8_lossy(v)
            ),
        })
}

fn optional_number<T: std::str::FromStr>(
    pairs: &[(String, Vec<u8>)],
    name: &'static str,
) -> Result<Option<T>, RequestError> {
    find(pairs, name).map(|v| number(name, v)).transpose()
}

/// Parses an announce query string.
pub fn parse_announce(query: &str) -> Result<AnnounceRequest, RequestError> {
    let pairs = query_pairs(query);
    let info_hash = exact20(
        "info_hash",
        find(&pairs, "info_hash").ok_or(RequestError::Missing("info_hash"))?,
    )?;
    let peer_id = exact20(
        "peer_id",
        find(&pairs, "peer_id").ok_or(RequestError::Missing("peer_id"))?,
    )?;
    let port_raw = find(&pairs, "port").ok_or(RequestError::Missing("port"))?;
    let port: u16 = number("port", port_raw)?;
    if port == 0 {
        return Err(RequestError::Invalid {
            name: "port",
            why: "port 0 cannot be connected to".into(),
        });
    }
    let event = match find(&pairs, "event") {
        None | Some(b"") | Some(b"empty") => AnnounceEvent::Update,
        Some(b"started") => AnnounceEvent::Started,
        Some(b"completed") => AnnounceEvent::Completed,
        Some(b"stopped") => AnnounceEvent::Stopped,
        Some(other) => {
            return Err(RequestError::Invalid {
                name: "event",
                why: format!(
                    "`{}` is not one of started, completed, stopped",
                    String::from_utf8_lossy(other)
                ),
            });
        }
    };
    let flag = |name: &'static str| -> Result<bool, RequestError> {
        Ok(optional_number::<u8>(&pairs, name)?.is_some_and(|v| v != 0))
    };
    let ip = match find(&pairs, "ip") {
        None => None,
        Some(v) => Some(
            std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .ok_or_else(|| RequestError::Invalid {
                    name: "ip",
                    why: format!("`{}` is not an IP address", String::from_utf8_lossy(v)),
                })?,
        ),
    };
    Ok(AnnounceRequest {
        info_hash: InfoHash(info_hash),
        peer_id,
        port,
        uploaded: optional_number(&pairs, "uploaded")?.unwrap_or(0),
        downloaded: optional_number(&pairs, "downloaded")?.unwrap_or(0),
        left: optional_number(&pairs, "left")?.unwrap_or(0),
        event,
        // BEP 23: clients that want compact replies say so; most do. Default to compact.
        compact: optional_number::<u8>(&pairs, "compact")?.is_none_or(|v| v != 0),
        no_peer_id: flag("no_peer_id")?,
        numwant: optional_number(&pairs, "numwant")?,
        ip,
    })
}

/// Parses a scrape query: zero or more `info_hash` parameters (none = every torrent).
pub fn parse_scrape(query: &str) -> Result<Vec<InfoHash>, RequestError> {
    query_pairs(query)
        .iter()
        .filter(|(k, _)| k == "info_hash")
        .map(|(_, v)| exact20("info_hash", v).map(InfoHash))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(b: &[u8]) -> String {
        percent_encoding::percent_encode(b, percent_encoding::NON_ALPHANUMERIC).to_string()
    }

    #[test]
    fn parses_a_real_announce() {
        let q = format!(
            "info_hash={}&peer_id={}&port=6881&uploaded=1&downloaded=2&left=3&event=started&compact=1&numwant=10",
            enc(&[0xab; 20]),
            enc(b"-RQ0001-abcdefghijkl")
        );
        let r = parse_announce(&q).unwrap();
        assert_eq!(r.info_hash, InfoHash([0xab; 20]));
        assert_eq!(&r.peer_id, b"-RQ0001-abcdefghijkl");
        assert_eq!((r.port, r.uploaded, r.downloaded, r.left), (6881, 1, 2, 3));
        assert_eq!(r.event, AnnounceEvent::Started);
        assert!(r.compact);
        assert_eq!(r.numwant, Some(10));
    }

    #[test]
    fn rejects_malformed_announces() {
        let id = enc(b"-RQ0001-abcdefghijkl");
        let h = enc(&[1; 20]);
        assert_eq!(
            parse_announce(&format!("peer_id={id}&port=1")),
            Err(RequestError::Missing("info_hash"))
        );
        assert!(matches!(
            parse_announce(&format!("info_hash={}&peer_id={id}&port=1", enc(&[1; 19]))),
            Err(RequestError::WrongLength {
                name: "info_hash",
                got: 19,
                ..
            })
        ));
        assert!(matches!(
            parse_announce(&format!("info_hash={h}&peer_id=abc&port=1")),
            Err(RequestError::WrongLength {
                name: "peer_id",
                got: 3,
                ..
            })
        ));
        for port in ["0", "65536", "-1", "x"] {
            assert!(matches!(
                parse_announce(&format!("info_hash={h}&peer_id={id}&port={port}")),
                Err(RequestError::Invalid { name: "port", .. })
            ));
        }
        assert!(matches!(
            parse_announce(&format!("info_hash={h}&peer_id={id}&port=1&event=bogus")),
            Err(RequestError::Invalid { name: "event", .. })
        ));
    }

    #[test]
    fn scrape_takes_several_hashes() {
        let q = format!("info_hash={}&info_hash={}", enc(&[1; 20]), enc(&[2; 20]));
        assert_eq!(
            parse_scrape(&q).unwrap(),
            vec![InfoHash([1; 20]), InfoHash([2; 20])]
        );
        assert!(parse_scrape("info_hash=abc").is_err());
        assert!(parse_scrape("").unwrap().is_empty());
    }
}
