//! Zone serials as YYYYMMDDnn: a change on a new day starts at nn = 00, further changes that day
//! count up, and a serial never goes backwards (secondaries only refresh on a larger serial).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use super::zones::ZoneSet;

/// The serial to use after a change, given the previous one (if any) and the current time.
pub fn next_serial(previous: Option<u32>, unix_secs: u64) -> u32 {
    let (y, m, d) = civil_date(unix_secs);
    let today = y * 1_000_000 + m * 10_000 + d * 100;
    match previous {
        Some(prev) if prev >= today => prev.saturating_add(1),
        _ => today,
    }
}

/// A fingerprint of the zone data, to tell whether anything changed since the last serial.
/// (Stable within one build of Luna; after an upgrade at worst one extra serial bump happens.)
pub fn fingerprint(set: &ZoneSet) -> u64 {
    let mut h = DefaultHasher::new();
    set.hash(&mut h);
    h.finish()
}

/// Serial bookkeeping for a host that re-exports or reloads zones: the serial changes exactly
/// when the zone data changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SerialState {
    pub serial: Option<u32>,
    pub fingerprint: Option<u64>,
}

impl SerialState {
    /// The serial for `set`, advancing it only if the data differs from last time.
    pub fn serial_for(&mut self, set: &ZoneSet, unix_secs: u64) -> u32 {
        let print = fingerprint(set);
        match (self.serial, self.fingerprint) {
            (Some(serial), Some(old)) if old == print => serial,
            _ => {
                let serial = next_serial(self.serial, unix_secs);
                self.serial = Some(serial);
                self.fingerprint = Some(print);
                serial
            }
        }
    }
}

/// (year, month, day) in UTC for a Unix time (Howard Hinnant's days-to-civil algorithm).
fn civil_date(unix_secs: u64) -> (u32, u32, u32) {
    let days = (unix_secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as u32, m as u32, d as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-25 22:00 UTC
    const NOW: u64 = 1_795_644_000;

    #[test]
    fn dates_convert() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(NOW), (2026, 11, 25));
        assert_eq!(civil_date(951_782_400), (2000, 2, 29));
    }

    #[test]
    fn serial_increases_on_every_change() {
        assert_eq!(next_serial(None, NOW), 2026112500);
        assert_eq!(next_serial(Some(2026112500), NOW), 2026112501);
        assert_eq!(next_serial(Some(2025010107), NOW), 2026112500);
        // A serial from the future (clock went back) still only grows.
        assert_eq!(next_serial(Some(2030010100), NOW), 2030010101);
    }

    #[test]
    fn serial_state_advances_only_on_change() {
        let mut set = crate::dns::zones::ZoneSet {
            nameserver: "ns.example".into(),
            hostmaster: None,
            ttl: 60,
            zones: vec![],
        };
        let mut state = SerialState::default();
        let a = state.serial_for(&set, NOW);
        assert_eq!(state.serial_for(&set, NOW), a);
        set.ttl = 120;
        let b = state.serial_for(&set, NOW);
        assert!(b > a);
    }
}
