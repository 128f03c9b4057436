//! A per-phase progress bar on stderr; hidden when stderr is not a terminal or output is JSON.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bar of one phase, measured in elapsed milliseconds.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `phase`, which runs for `duration`; invisible unless `show`.
    pub fn new(show: bool, phase: &str, duration: Duration) -> Self {
        let len = duration.as_millis().max(1) as u64;
        let bar = if show {
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template("{prefix:>8} [{bar:30}] {msg}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(phase.to_string());
        Progress { bar }
    }

    /// Moves the bar to `elapsed` and shows `msg` (the figures so far).
    pub fn update(&self, elapsed: Duration, msg: String) {
        self.bar.set_position(elapsed.as_millis() as u64);
        self.bar.set_message(msg);
    }

    /// Removes the bar; the summary follows.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
