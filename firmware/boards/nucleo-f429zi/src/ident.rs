//! The board's Ethernet address, derived from the STM32's 96-bit unique ID
//! (RM0090 39.1, at 0x1FFF_7A10), so that every board has its own and keeps
//! it across resets and reflashing.
//!
//! Pure, so it is unit-tested on the host.

/// A locally administered unicast MAC address (first byte `x2`, `x6`, `xA`
/// or `xE`) made from `uid`: a 64-bit FNV-1a hash of its 12 bytes, of which
/// 46 bits are used. The ID's fields (wafer X/Y, wafer number, lot number)
/// differ between chips in only a few bits, so they are hashed rather than
/// copied: boards from one lot still get well-spread addresses.
pub fn mac_from_uid(uid: [u8; 12]) -> [u8; 6] {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = uid.iter().fold(FNV_OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME));
    let h = hash.to_le_bytes();
    // Bit 0 of the first byte: multicast (clear); bit 1: locally administered (set).
    [(h[0] & !0b01) | 0b10, h[1], h[2], h[3], h[4], h[5]]
}

/// The unique ID as bytes, from its three little-endian words as the chip
/// stores them.
pub fn uid_bytes(words: [u32; 3]) -> [u8; 12] {
    let mut bytes = [0; 12];
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real-looking ID: X 0x0030, Y 0x0047, wafer 0x17, lot "ST4A1NZ".
    const UID: [u32; 3] = [0x0047_0030, 0x3453_5417, 0x5A4E_3141];

    #[test]
    fn mac_is_unicast_and_locally_administered() {
        let mut uid = uid_bytes(UID);
        for i in 0..=255u8 {
            uid[0] = i;
            let mac = mac_from_uid(uid);
            assert_eq!(mac[0] & 0b01, 0, "multicast bit set in {mac:02x?}");
            assert_eq!(mac[0] & 0b10, 0b10, "not locally administered: {mac:02x?}");
        }
    }

    #[test]
    fn mac_is_stable_for_one_chip() {
        let uid = uid_bytes(UID);
        assert_eq!(mac_from_uid(uid), mac_from_uid(uid));
        // Pinned (computed independently with Python): a board keeps its
        // address across firmware versions.
        assert_eq!(mac_from_uid(uid), [0x4e, 0xf0, 0xb0, 0xf9, 0xb5, 0x98]);
    }

    #[test]
    fn chips_that_differ_in_one_bit_get_different_macs() {
        let base = uid_bytes(UID);
        let mut seen = std::collections::HashSet::new();
        seen.insert(mac_from_uid(base));
        for byte in 0..12 {
            for bit in 0..8 {
                let mut uid = base;
                uid[byte] ^= 1 << bit;
                assert!(seen.insert(mac_from_uid(uid)), "collision flipping byte {byte} bit {bit}");
            }
        }
    }

    #[test]
    fn neighbouring_dies_of_one_wafer_get_different_macs() {
        let mut seen = std::collections::HashSet::new();
        for x in 0..64u32 {
            for y in 0..64u32 {
                let uid = uid_bytes([y << 16 | x, UID[1], UID[2]]);
                assert!(seen.insert(mac_from_uid(uid)), "collision at die ({x}, {y})");
            }
        }
    }

    #[test]
    fn uid_words_become_bytes_in_memory_order() {
        assert_eq!(uid_bytes([0x0403_0201, 0x0807_0605, 0x0c0b_0a09]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    }
}
