//! Why the board last reset, so it can say so at the next boot: the reset
//! flags of RCC_CSR (RM0090 6.3.21), and the record the firmware leaves in
//! RAM that no start-up code clears when it resets itself on purpose (after a
//! panic, a hard fault, or a receive ring it cannot put back in step).
//!
//! Pure, so it is unit-tested on the host; `fault.rs` does the register and
//! RAM accesses.

/// The reset flags of RCC_CSR.
mod csr {
    pub const LPWRRSTF: u32 = 1 << 31;
    pub const WWDGRSTF: u32 = 1 << 30;
    pub const IWDGRSTF: u32 = 1 << 29;
    pub const SFTRSTF: u32 = 1 << 28;
    pub const PORRSTF: u32 = 1 << 27;
    pub const PINRSTF: u32 = 1 << 26;
    pub const BORRSTF: u32 = 1 << 25;
}

/// What reset the chip, from the flags the hardware latched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetCause {
    /// Power was applied (or dropped below the power-down threshold).
    PowerOn,
    /// The supply dipped below the brown-out threshold.
    BrownOut,
    /// The NRST pin: the board's reset button, or a debugger.
    Pin,
    /// The software asked for it (SYSRESETREQ): the firmware itself, or a
    /// debugger resetting the core.
    Software,
    /// The independent watchdog: the main loop stopped feeding it.
    Watchdog,
    /// The window watchdog (not used by this firmware).
    WindowWatchdog,
    /// Entering Standby/Stop while the option bytes forbid it.
    LowPower,
    /// No flag set (they were cleared and nothing has reset since).
    Unknown,
}

impl ResetCause {
    /// Decodes RCC_CSR. Every internal reset also drives the NRST pin, so
    /// PINRSTF comes with the others and counts only when alone; a power-on
    /// reset sets BORRSTF too.
    pub fn from_csr(csr: u32) -> Self {
        use csr::*;
        if csr & LPWRRSTF != 0 {
            ResetCause::LowPower
        } else if csr & WWDGRSTF != 0 {
            ResetCause::WindowWatchdog
        } else if csr & IWDGRSTF != 0 {
            ResetCause::Watchdog
        } else if csr & SFTRSTF != 0 {
            ResetCause::Software
        } else if csr & PORRSTF != 0 {
            ResetCause::PowerOn
        } else if csr & BORRSTF != 0 {
            ResetCause::BrownOut
        } else if csr & PINRSTF != 0 {
            ResetCause::Pin
        } else {
            ResetCause::Unknown
        }
    }
}

/// Why the firmware reset the board itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crash {
    /// A panic (its message went to the log before the reset).
    Panic,
    /// A hard fault at this program counter.
    HardFault {
        /// Where the faulting instruction was.
        pc: u32,
    },
    /// The Ethernet receive ring fell out of step with the DMA (stm32-eth
    /// 0.8.2 after an errored descriptor; see README.md): only a reset
    /// brings it back.
    RxRingOutOfStep,
}

/// Marks a valid record (and "RST!" in a memory dump).
const MAGIC: u32 = 0x2154_5352;

impl Crash {
    /// The record as stored: magic, kind, detail, check word.
    pub fn encode(self) -> [u32; 4] {
        let (kind, detail) = match self {
            Crash::Panic => (1, 0),
            Crash::HardFault { pc } => (2, pc),
            Crash::RxRingOutOfStep => (3, 0),
        };
        [MAGIC, kind, detail, !(MAGIC ^ kind ^ detail)]
    }

    /// The record left before the last reset, if `words` hold one. RAM holds
    /// noise after power-on, so the magic and the check word must both agree.
    pub fn decode(words: [u32; 4]) -> Option<Self> {
        let [magic, kind, detail, check] = words;
        if magic != MAGIC || check != !(MAGIC ^ kind ^ detail) {
            return None;
        }
        match kind {
            1 => Some(Crash::Panic),
            2 => Some(Crash::HardFault { pc: detail }),
            3 => Some(Crash::RxRingOutOfStep),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::csr::*;
    use super::*;

    #[test]
    fn reset_flags_decode_with_pin_and_brown_out_as_companions() {
        // What the chip latches for each reset (RM0090, RCC_CSR and "System reset").
        assert_eq!(ResetCause::from_csr(PORRSTF | PINRSTF | BORRSTF), ResetCause::PowerOn);
        assert_eq!(ResetCause::from_csr(BORRSTF | PINRSTF), ResetCause::BrownOut);
        assert_eq!(ResetCause::from_csr(PINRSTF), ResetCause::Pin);
        assert_eq!(ResetCause::from_csr(SFTRSTF | PINRSTF), ResetCause::Software);
        assert_eq!(ResetCause::from_csr(IWDGRSTF | PINRSTF), ResetCause::Watchdog);
        assert_eq!(ResetCause::from_csr(WWDGRSTF | PINRSTF), ResetCause::WindowWatchdog);
        assert_eq!(ResetCause::from_csr(LPWRRSTF | PINRSTF), ResetCause::LowPower);
        assert_eq!(ResetCause::from_csr(0), ResetCause::Unknown);
        // Flags pile up until cleared: the watchdog outranks an older power-on.
        assert_eq!(ResetCause::from_csr(IWDGRSTF | PORRSTF | PINRSTF | BORRSTF), ResetCause::Watchdog);
        // Other CSR bits (LSION, LSIRDY, RMVF) do not matter.
        assert_eq!(ResetCause::from_csr(SFTRSTF | PINRSTF | 0b11 | 1 << 24), ResetCause::Software);
    }

    #[test]
    fn crash_records_round_trip() {
        for crash in [Crash::Panic, Crash::HardFault { pc: 0x0800_1234 }, Crash::RxRingOutOfStep] {
            assert_eq!(Crash::decode(crash.encode()), Some(crash));
        }
    }

    #[test]
    fn noise_is_not_a_crash_record() {
        assert_eq!(Crash::decode([0; 4]), None);
        assert_eq!(Crash::decode([u32::MAX; 4]), None);
        let mut words = Crash::HardFault { pc: 0x0800_1234 }.encode();
        words[2] ^= 1; // a flipped bit in the detail
        assert_eq!(Crash::decode(words), None);
        assert_eq!(Crash::decode([MAGIC, 9, 0, !(MAGIC ^ 9)]), None, "unknown kind");
        // A simple xorshift as RAM after power-on: no false records.
        let mut x = 0x1234_5678u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for _ in 0..100_000 {
            assert_eq!(Crash::decode([next(), next(), next(), next()]), None);
        }
    }
}
