//! A per-parse memory budget: what one body may make the typed tree cost.
//!
//! The byte cap on a body bounds its bytes, not what they expand into: two million `{}`
//! entries (6 MB) would make two million `BundleEntry` structs. [`crate::from_slice`] opens
//! a budget of [`BYTES_PER_INPUT_BYTE`] × the input length + [`SLACK`] for the parse, and
//! the element machinery charges it for every vector slot and box it allocates
//! (`size_of` based, by capacity, never refunded). Past the budget the parse fails with
//! an error that says so ([`crate::ParseError::is_memory_budget`]).
//!
//! Text is not charged: a string, a raw member or a kept mismatched value holds at most
//! the bytes it was read from (a few times that while it is assembled), which the margin
//! between this budget and the promised bound (16 bytes per input byte + 64 MiB) covers.
//!
//! Outside a budget (calling serde_json directly) charges are counted against nothing.

use std::cell::Cell;
use std::fmt;

/// Budget per input byte for what the element machinery charges.
pub(crate) const BYTES_PER_INPUT_BYTE: usize = 12;
/// Budget on top, whatever the input length: small bodies never come near it.
pub(crate) const SLACK: usize = 64 << 20;

thread_local! {
    /// Bytes left in the current parse's budget (`usize::MAX` outside any).
    static LEFT: Cell<usize> = const { Cell::new(usize::MAX) };
    /// The budget of the current parse, for the error message.
    static TOTAL: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The budget ran out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exceeded;

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = TOTAL.with(Cell::get);
        write!(
            f,
            "memory budget exceeded: the typed tree would take more than {} MiB for this body",
            total >> 20
        )
    }
}

/// A budget for one parse on this thread, restored to the enclosing one on drop.
pub(crate) struct Scope {
    prev_left: usize,
    prev_total: usize,
}

impl Scope {
    /// Opens the budget for a body of `input_len` bytes.
    pub(crate) fn enter(input_len: usize) -> Scope {
        let total = input_len
            .saturating_mul(BYTES_PER_INPUT_BYTE)
            .saturating_add(SLACK);
        Scope {
            prev_left: LEFT.with(|l| l.replace(total)),
            prev_total: TOTAL.with(|t| t.replace(total)),
        }
    }

    /// Whether this parse ran out of budget.
    pub(crate) fn exceeded(&self) -> bool {
        LEFT.with(Cell::get) == 0
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        LEFT.with(|l| l.set(self.prev_left));
        TOTAL.with(|t| t.set(self.prev_total));
    }
}

/// Charges `n` bytes; once the budget is gone it stays gone for the parse.
#[inline]
pub(crate) fn charge_bytes(n: usize) -> Result<(), Exceeded> {
    LEFT.with(|l| {
        let left = l.get();
        if left == usize::MAX {
            return Ok(());
        }
        match left.checked_sub(n) {
            Some(rest) if rest > 0 || n == 0 => {
                l.set(rest);
                Ok(())
            }
            _ => {
                l.set(0);
                Err(Exceeded)
            }
        }
    })
}

/// Makes room for one more element, doubling the capacity itself (so the charge is the
/// capacity actually allocated) and charging the new block.
#[inline]
pub(crate) fn reserve_one<T>(v: &mut Vec<T>) -> Result<(), Exceeded> {
    if v.len() < v.capacity() {
        return Ok(());
    }
    let want = v.capacity().saturating_mul(2).max(1);
    reserve_exact(v, want - v.len())
}

/// `Vec::reserve_exact`, charged for the whole new block (the old one lives on while it is
/// copied, so charging only the increase would undercount the peak).
#[inline]
pub(crate) fn reserve_exact<T>(v: &mut Vec<T>, additional: usize) -> Result<(), Exceeded> {
    let cap = v.len().saturating_add(additional);
    charge_bytes(cap.saturating_mul(std::mem::size_of::<T>()))?;
    v.reserve_exact(additional);
    Ok(())
}

/// `Box::new`, charged. Infallible: a box is one value, and running out is sticky, so the
/// next vector slot reports it.
#[inline]
pub(crate) fn boxed<T>(v: T) -> Box<T> {
    let _ = charge_bytes(std::mem::size_of::<T>());
    Box::new(v)
}

/// Charges a value about to be boxed in place (`Box::<T>::default()`).
#[inline]
pub(crate) fn charge_box<T>() -> Result<(), Exceeded> {
    charge_bytes(std::mem::size_of::<T>())
}
