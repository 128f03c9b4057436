//! The three user LEDs of the NUCLEO-144 board, as status lights: LD1 (green)
//! link up, LD2 (blue) at least one connection open, LD3 (red) error.

use embedded_hal::digital::{OutputPin, PinState};

/// Status lights on any three output pins.
pub struct Leds<Link, Busy, Error> {
    link: Link,
    busy: Busy,
    error: Error,
}

impl<Link: OutputPin, Busy: OutputPin, Error: OutputPin> Leds<Link, Busy, Error> {
    /// Takes the pins and switches every light off.
    pub fn new(link: Link, busy: Busy, error: Error) -> Self {
        let mut leds = Leds { link, busy, error };
        leds.show(false, 0);
        leds.set_error(false);
        leds
    }

    /// Shows the link state and whether any connection is open.
    pub fn show(&mut self, link_up: bool, open_connections: usize) {
        // GPIO writes on this chip cannot fail (the error type is Infallible).
        let _ = self.link.set_state(PinState::from(link_up));
        let _ = self.busy.set_state(PinState::from(open_connections > 0));
    }

    /// Lights (or clears) the error light.
    pub fn set_error(&mut self, on: bool) {
        let _ = self.error.set_state(PinState::from(on));
    }
}
