//! The timer wheel file (`store:timer/TimerWheel.java`, `Slot.java`): `2 × SLOTS_TOTAL` slots of
//! 32 bytes (big-endian: time / precision, first unit, last unit, count, magic), indexed by
//! `time / precision % (2 × SLOTS_TOTAL)`. A slot whose stored time is not the asked time is
//! empty. Java keeps a copy of the whole file (37 MB) in memory; slots are read and written
//! here with positioned I/O on the file instead, so the page cache holds only what is used and a
//! kill -9 loses nothing written.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use super::SLOTS_TOTAL;
use crate::store::StoreError;

/// Bytes per slot (`Slot.SIZE`).
pub const SLOT_SIZE: u64 = 32;
/// "No unit" (`TimerWheel.BLANK`).
pub const BLANK: i64 = -1;

/// One slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Due time in ms (`-1` when the slot is empty for the asked time).
    pub time_ms: i64,
    /// Timer-log position of the slot's first unit.
    pub first_pos: i64,
    /// Timer-log position of the slot's last unit (the head of the chain).
    pub last_pos: i64,
    /// Units in the slot.
    pub num: i32,
    /// Unused, kept as Java keeps it.
    pub magic: i32,
}

impl Slot {
    /// An empty slot.
    pub const EMPTY: Self = Self {
        time_ms: -1,
        first_pos: BLANK,
        last_pos: BLANK,
        num: 0,
        magic: 0,
    };
}

/// The wheel file.
#[derive(Debug)]
pub struct TimerWheel {
    file: File,
    precision_ms: i64,
    slots: i64,
}

impl TimerWheel {
    /// Opens (or creates, sparse) `<root>/timerwheel`. A file of another length was written with
    /// another precision layout and is refused, as Java refuses it.
    pub fn open(path: &Path, precision_ms: i64) -> Result<Self, StoreError> {
        let slots = SLOTS_TOTAL * 2;
        let len = u64::try_from(slots).unwrap_or(0) * SLOT_SIZE;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let have = file.metadata()?.len();
        if have != 0 && have != len {
            return Err(StoreError::Corrupt(format!(
                "Timer wheel length:{have} != expected:{len} ({})",
                path.display()
            )));
        }
        if have == 0 {
            file.set_len(len)?;
        }
        Ok(Self {
            file,
            precision_ms: precision_ms.max(1),
            slots,
        })
    }

    fn index(&self, time_ms: i64) -> u64 {
        u64::try_from((time_ms / self.precision_ms).rem_euclid(self.slots)).unwrap_or(0)
    }

    /// The raw slot at `time_ms`'s index, whatever time it holds (`getRawSlot`).
    pub fn raw_slot(&self, time_ms: i64) -> Result<Slot, StoreError> {
        let mut b = [0u8; 32];
        self.file
            .read_exact_at(&mut b, self.index(time_ms) * SLOT_SIZE)?;
        Ok(decode(&b, self.precision_ms))
    }

    /// The slot for `time_ms`, or [`Slot::EMPTY`] when the stored slot is for another time
    /// (`getSlot`).
    pub fn slot(&self, time_ms: i64) -> Result<Slot, StoreError> {
        let s = self.raw_slot(time_ms)?;
        if s.time_ms != time_ms / self.precision_ms * self.precision_ms {
            return Ok(Slot::EMPTY);
        }
        Ok(s)
    }

    /// Writes the slot for `time_ms` (`putSlot` with count and magic).
    pub fn put_slot(
        &self,
        time_ms: i64,
        first_pos: i64,
        last_pos: i64,
        num: i32,
        magic: i32,
    ) -> Result<(), StoreError> {
        let mut b = Vec::with_capacity(32);
        b.extend_from_slice(&(time_ms / self.precision_ms).to_be_bytes());
        b.extend_from_slice(&first_pos.to_be_bytes());
        b.extend_from_slice(&last_pos.to_be_bytes());
        b.extend_from_slice(&num.to_be_bytes());
        b.extend_from_slice(&magic.to_be_bytes());
        self.file
            .write_all_at(&b, self.index(time_ms) * SLOT_SIZE)?;
        Ok(())
    }

    /// Recovery's `reviseSlot(time, IGNORE, lastPos, force = true)`: the slot of `time_ms` gets
    /// `last_pos` as its head; a slot holding another time is replaced by one with this unit
    /// alone.
    pub fn revise_last(&self, time_ms: i64, last_pos: i64) -> Result<(), StoreError> {
        let s = self.raw_slot(time_ms)?;
        if s.time_ms == time_ms / self.precision_ms * self.precision_ms {
            self.put_slot(time_ms, s.first_pos, last_pos, s.num, s.magic)
        } else {
            self.put_slot(time_ms, last_pos, last_pos, 0, 0)
        }
    }

    /// `checkPhyPos`: the smallest first position among slots from `start_ms` on (over the whole
    /// wheel) whose last position is beyond `max_offset`: units the wheel points at that the
    /// recovered timer log does not hold. `i64::MAX` when there are none.
    pub fn min_first_beyond(&self, start_ms: i64, max_offset: i64) -> Result<i64, StoreError> {
        let mut min_first = i64::MAX;
        let chunk_slots: i64 = 32 * 1024;
        let mut buf = vec![0u8; usize::try_from(chunk_slots).unwrap_or(0) * 32];
        let first_index = i64::try_from(self.index(start_ms)).unwrap_or(0);
        let mut i = 0;
        while i < self.slots {
            // Read the wheel in file order, chunk by chunk, and map each slot back to the time
            // it must hold to count (the time `start_ms + k × precision` that lands on it).
            let n = chunk_slots.min(self.slots - i);
            let bytes = usize::try_from(n).unwrap_or(0) * 32;
            let Some(chunk) = buf.get_mut(..bytes) else {
                break;
            };
            self.file
                .read_exact_at(chunk, u64::try_from(i).unwrap_or(0) * SLOT_SIZE)?;
            for (j, raw) in chunk.chunks_exact(32).enumerate() {
                let index = i + i64::try_from(j).unwrap_or(0);
                let k = (index - first_index).rem_euclid(self.slots);
                let want = start_ms / self.precision_ms + k;
                let s = decode(raw, 1);
                if s.time_ms == want && s.last_pos > max_offset && s.first_pos < min_first {
                    min_first = s.first_pos;
                }
            }
            i += n;
        }
        Ok(min_first)
    }

    /// Units due in the whole wheel from `start_ms` on (`getAllNum`), for metrics.
    pub fn count_from(&self, start_ms: i64, slots: i64) -> Result<i64, StoreError> {
        let mut total = 0i64;
        for k in 0..slots.min(self.slots) {
            let s = self.slot(start_ms + k * self.precision_ms)?;
            total += i64::from(s.num);
        }
        Ok(total)
    }

    /// `fdatasync` of the file.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.file.sync_data()?;
        Ok(())
    }
}

fn decode(b: &[u8], precision_ms: i64) -> Slot {
    let l = |r: std::ops::Range<usize>| {
        b.get(r)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map_or(0, i64::from_be_bytes)
    };
    let i = |r: std::ops::Range<usize>| {
        b.get(r)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map_or(0, i32::from_be_bytes)
    };
    Slot {
        time_ms: l(0..8).saturating_mul(precision_ms),
        first_pos: l(8..16),
        last_pos: l(16..24),
        num: i(24..28),
        magic: i(28..32),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn slots_round_trip_and_stale_slots_are_empty() {
        let dir = std::env::temp_dir().join(format!("wheel-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let w = TimerWheel::open(&dir.join("timerwheel"), 1000).unwrap();
        assert_eq!(
            std::fs::metadata(dir.join("timerwheel")).unwrap().len(),
            7 * 86_400 * 2 * 32
        );
        let t = 1_700_000_000_000;
        assert_eq!(w.slot(t).unwrap(), Slot::EMPTY);
        w.put_slot(t, 52, 104, 2, 0).unwrap();
        let s = w.slot(t + 999).unwrap();
        assert_eq!((s.time_ms, s.first_pos, s.last_pos, s.num), (t, 52, 104, 2));
        // The same index two weeks later is another time: empty.
        let later = t + 2 * SLOTS_TOTAL * 1000;
        assert_eq!(w.slot(later).unwrap(), Slot::EMPTY);
        w.revise_last(later, 500).unwrap();
        let s = w.slot(later).unwrap();
        assert_eq!((s.first_pos, s.last_pos, s.num), (500, 500, 0));
        w.revise_last(later, 552).unwrap();
        assert_eq!(w.slot(later).unwrap().last_pos, 552);
        assert_eq!(w.min_first_beyond(later - 5000, 520).unwrap(), 500);
        assert_eq!(w.min_first_beyond(later - 5000, 600).unwrap(), i64::MAX);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
