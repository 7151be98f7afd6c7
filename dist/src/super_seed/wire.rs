//! The few BitTorrent peer-wire messages (BEP 3) an upload-only host needs.

use tokio::io::{AsyncRead, AsyncReadExt};

const PSTR: &[u8; 19] = b"BitTorrent protocol";

/// Longest message we accept from a node (a bitfield of a huge image is the largest).
const MAX_MESSAGE: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    KeepAlive,
    Have(u32),
    Bitfield(Vec<u8>),
    Request {
        index: u32,
        begin: u32,
        length: u32,
    },
    /// Choke, interest, cancel, port, extensions…: nothing an upload-only host acts on.
    Ignored(u8),
}

/// Reads the other side's handshake and returns the info-hash it asks for.
pub async fn read_handshake(r: &mut (impl AsyncRead + Unpin)) -> std::io::Result<[u8; 20]> {
    let mut hs = [0u8; 68];
    r.read_exact(&mut hs).await?;
    if hs[0] != 19 || &hs[1..20] != PSTR {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a BitTorrent handshake",
        ));
    }
    let mut info_hash = [0u8; 20];
    info_hash.copy_from_slice(&hs[28..48]);
    Ok(info_hash)
}

pub fn handshake(info_hash: &[u8; 20], peer_id: &[u8; 20]) -> Vec<u8> {
    let mut hs = Vec::with_capacity(68);
    hs.push(19);
    hs.extend_from_slice(PSTR);
    hs.extend_from_slice(&[0; 8]);
    hs.extend_from_slice(info_hash);
    hs.extend_from_slice(peer_id);
    hs
}

pub const UNCHOKE: [u8; 5] = [0, 0, 0, 1, 1];
pub const KEEP_ALIVE: [u8; 4] = [0, 0, 0, 0];

pub fn have(piece: u32) -> [u8; 9] {
    let mut m = [0, 0, 0, 5, 4, 0, 0, 0, 0];
    m[5..].copy_from_slice(&piece.to_be_bytes());
    m
}

/// A BITFIELD message announcing every one of `pieces` pieces.
pub fn full_bitfield(pieces: u32) -> Vec<u8> {
    let bytes = (pieces as usize).div_ceil(8);
    let mut m = Vec::with_capacity(5 + bytes);
    m.extend_from_slice(&(1 + bytes as u32).to_be_bytes());
    m.push(5);
    m.extend(std::iter::repeat_n(0xff, bytes));
    // Spare bits past the last piece must be clear.
    let spare = bytes * 8 - pieces as usize;
    if let Some(last) = m.last_mut() {
        *last &= 0xffu8 << spare;
    }
    m
}

/// The header of a PIECE message carrying `len` bytes of `index` from `begin`.
pub fn piece_header(index: u32, begin: u32, len: u32) -> [u8; 13] {
    let mut m = [0u8; 13];
    m[..4].copy_from_slice(&(9 + len).to_be_bytes());
    m[4] = 7;
    m[5..9].copy_from_slice(&index.to_be_bytes());
    m[9..13].copy_from_slice(&begin.to_be_bytes());
    m
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn malformed(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// Reads one length-prefixed message.
pub async fn read_message(r: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Message> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len == 0 {
        return Ok(Message::KeepAlive);
    }
    if len > MAX_MESSAGE {
        return Err(malformed("peer message too long"));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    Ok(match body[0] {
        4 if len == 5 => Message::Have(u32_at(&body, 1)),
        5 => Message::Bitfield(body[1..].to_vec()),
        6 if len == 13 => Message::Request {
            index: u32_at(&body, 1),
            begin: u32_at(&body, 5),
            length: u32_at(&body, 9),
        },
        4 | 6 => return Err(malformed("HAVE or REQUEST with a wrong length")),
        id => Message::Ignored(id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_round_trip() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&have(7));
        buf.extend_from_slice(&KEEP_ALIVE);
        buf.extend_from_slice(&[0, 0, 0, 13, 6, 0, 0, 0, 3, 0, 0, 0x40, 0, 0, 0, 0x40, 0]);
        buf.extend_from_slice(&[0, 0, 0, 2, 5, 0b1010_0000]);
        buf.extend_from_slice(&UNCHOKE);
        let mut r = &buf[..];
        assert_eq!(read_message(&mut r).await.unwrap(), Message::Have(7));
        assert_eq!(read_message(&mut r).await.unwrap(), Message::KeepAlive);
        assert_eq!(
            read_message(&mut r).await.unwrap(),
            Message::Request {
                index: 3,
                begin: 0x4000,
                length: 0x4000
            }
        );
        assert_eq!(
            read_message(&mut r).await.unwrap(),
            Message::Bitfield(vec![0b1010_0000])
        );
        assert_eq!(read_message(&mut r).await.unwrap(), Message::Ignored(1));
        assert!(read_message(&mut r).await.is_err(), "end of stream");
    }

    #[tokio::test]
    async fn bad_handshakes_and_lengths_are_refused() {
        let mut r = &[0u8; 68][..];
        assert!(read_handshake(&mut r).await.is_err());
        let hs = handshake(&[9; 20], &[1; 20]);
        assert_eq!(read_handshake(&mut &hs[..]).await.unwrap(), [9; 20]);
        let short_have = [0u8, 0, 0, 3, 4, 0, 0];
        assert!(read_message(&mut &short_have[..]).await.is_err());
        let huge = [0x7fu8, 0, 0, 0];
        assert!(read_message(&mut &huge[..]).await.is_err());
    }
}
