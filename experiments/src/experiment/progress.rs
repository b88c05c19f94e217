//! Progress of long work: a bar on a terminal, plain periodic lines otherwise (logs, CI), or
//! nothing.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nn::train::{EpochReport, Observer};

/// Seconds between two plain progress lines: often enough to show life in a log, rarely enough
/// not to flood it (our choice).
pub const LINE_INTERVAL: Duration = Duration::from_secs(10);

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// An indicatif bar on stderr.
    Bar,
    /// A line on stderr at most every [`LINE_INTERVAL`], and at the end.
    Lines,
    /// Nothing.
    #[allow(dead_code)] // frame API, for driving experiments from tests
    Hidden,
}

impl ProgressMode {
    /// A bar when stderr is a terminal, lines otherwise.
    pub fn detect() -> Self {
        if std::io::stderr().is_terminal() {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines
        }
    }
}

/// Progress of one task (one run of one experiment, one download), counted in steps.
pub struct Progress {
    label: String,
    bar: Option<ProgressBar>,
    lines: bool,
    total: u64,
    done: u64,
    last_line: Instant,
}

impl Progress {
    /// A task called `label` ("logreg-synthetic seed 2").
    pub fn new(mode: ProgressMode, label: impl Into<String>) -> Self {
        let label = label.into();
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
            )
            .expect("a valid template")
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label.clone());
            bar
        });
        Progress {
            label,
            bar,
            lines: mode == ProgressMode::Lines,
            total: 0,
            done: 0,
            last_line: Instant::now(),
        }
    }

    /// A task whose progress is not shown (tests, library use).
    #[allow(dead_code)] // frame API, for driving experiments from tests
    pub fn hidden() -> Self {
        Self::new(ProgressMode::Hidden, "")
    }

    /// Sets the number of steps (epochs, say).
    pub fn set_total(&mut self, steps: u64) {
        self.total = steps;
        if let Some(bar) = &self.bar {
            bar.set_length(steps);
        }
    }

    /// Sets the number of steps done so far, with a short message ("epoch 3: acc 0.81").
    pub fn set_position(&mut self, done: u64, message: &str) {
        self.done = done;
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(message.to_owned());
        }
        let finished = self.total > 0 && done >= self.total;
        if self.lines && (finished || self.last_line.elapsed() >= LINE_INTERVAL) {
            eprintln!("{}: {done}/{} {message}", self.label, self.total);
            self.last_line = Instant::now();
        }
    }

    /// One more step done.
    pub fn advance(&mut self, message: &str) {
        self.set_position(self.done + 1, message);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A training [`Observer`] that advances a run's progress by one step per epoch of a model's
/// training (a teacher, a source model, a VAE), with the epoch's test accuracy, or its
/// training loss when the training has no test set.
pub struct EpochProgress<'a> {
    /// What is trained: the start of each message.
    pub what: &'a str,
    /// The run's progress.
    pub progress: &'a mut Progress,
}

impl Observer for EpochProgress<'_> {
    fn epoch(&mut self, r: &EpochReport) {
        let message = match r.eval {
            Some(e) => format!(
                "{}: epoch {}, test accuracy {:.3}",
                self.what, r.epoch, e.accuracy
            ),
            None => format!("{}: epoch {}, loss {:.3}", self.what, r.epoch, r.train_loss),
        };
        self.progress.advance(&message);
    }
}
