//! Luna patch: how many live peers have each piece, for rarest-first piece choice.
//!
//! Kept up to date by the peer state transitions (a peer leaving the live state takes its
//! bitfield with it), by bitfield messages and by HAVEs. Atomics, because the counts are
//! changed under the per-peer map locks and read under the torrent lock.

use std::sync::atomic::{AtomicU32, Ordering};

use librqbit_core::lengths::ValidPieceIndex;

use crate::type_aliases::BF;

#[derive(Debug, Default)]
pub(crate) struct PieceAvailability {
    counts: Box<[AtomicU32]>,
}

impl PieceAvailability {
    pub fn new(total_pieces: usize) -> Self {
        Self {
            counts: (0..total_pieces).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    /// Live peers known to have `piece`.
    pub fn get(&self, piece: ValidPieceIndex) -> u32 {
        self.counts
            .get(piece.get_usize())
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// One more peer has piece `index` (a HAVE that set a bit).
    pub fn add_piece(&self, index: usize) {
        if let Some(c) = self.counts.get(index) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A peer's whole bitfield arrived.
    pub fn add_bitfield(&self, bitfield: &BF) {
        for index in bitfield.iter_ones() {
            self.add_piece(index);
        }
    }

    /// A peer's bitfield left: the peer died, or sent a new bitfield.
    pub fn remove_bitfield(&self, bitfield: &BF) {
        for index in bitfield.iter_ones() {
            if let Some(c) = self.counts.get(index) {
                // Saturating: never wrap, even if a transition was counted twice.
                let _ = c.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                    Some(v.saturating_sub(1))
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use librqbit_core::lengths::Lengths;

    fn piece(lengths: &Lengths, i: u32) -> ValidPieceIndex {
        lengths.validate_piece_index(i).unwrap()
    }

    #[test]
    fn counts_follow_bitfields_and_haves() {
        let lengths = Lengths::new(16384 * 8, 16384).unwrap();
        let a = PieceAvailability::new(8);
        let mut bf = BF::from_boxed_slice(vec![0b1010_0000u8].into_boxed_slice());
        a.add_bitfield(&bf);
        assert_eq!(a.get(piece(&lengths, 0)), 1);
        assert_eq!(a.get(piece(&lengths, 1)), 0);
        assert_eq!(a.get(piece(&lengths, 2)), 1);
        a.add_bitfield(&bf);
        assert_eq!(a.get(piece(&lengths, 0)), 2);
        bf.set(1, true);
        a.add_piece(1);
        assert_eq!(a.get(piece(&lengths, 1)), 1);
        a.remove_bitfield(&bf);
        assert_eq!(a.get(piece(&lengths, 0)), 1);
        assert_eq!(a.get(piece(&lengths, 1)), 0);
        a.remove_bitfield(&bf);
        assert_eq!(a.get(piece(&lengths, 0)), 0, "never below zero");
    }
}
