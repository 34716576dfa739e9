//! `Loadable<T>`: a remote or stored value that keeps the last good value while it
//! reloads or after it fails, so panels never blank.

use poll_promise::Promise;

/// A value with the time it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamped<T> {
    /// The value.
    pub value: T,
    /// Unix seconds when it was fetched.
    pub fetched_at: i64,
}

/// The outcome a job sends back.
pub type JobResult<T> = Result<T, String>;

/// The life of one value. See the threading contract in `ARCHITECTURE.md`.
pub enum Loadable<T: Send + 'static> {
    /// Nothing in flight.
    Idle {
        /// The last good value, if any.
        previous: Option<Stamped<T>>,
    },
    /// A job is running; `previous` stays visible meanwhile.
    Loading {
        /// The last good value, if any.
        previous: Option<Stamped<T>>,
        /// The running job.
        promise: Promise<JobResult<T>>,
    },
    /// The job succeeded.
    Ready(Stamped<T>),
    /// The job failed; `previous` stays visible with the error beside it.
    Failed {
        /// The last good value, if any.
        previous: Option<Stamped<T>>,
        /// One clear line for the user.
        error: String,
    },
}

impl<T: Send + 'static> Default for Loadable<T> {
    fn default() -> Self {
        Loadable::Idle { previous: None }
    }
}

impl<T: Send + 'static> Loadable<T> {
    /// A loadable seeded with a value (e.g. from the store at start-up).
    pub fn ready(value: T, fetched_at: i64) -> Self {
        Loadable::Ready(Stamped { value, fetched_at })
    }

    /// The newest good value, whatever the state.
    pub fn stamped(&self) -> Option<&Stamped<T>> {
        match self {
            Loadable::Idle { previous } | Loadable::Loading { previous, .. } | Loadable::Failed { previous, .. } => {
                previous.as_ref()
            }
            Loadable::Ready(s) => Some(s),
        }
    }

    /// The newest good value.
    pub fn value(&self) -> Option<&T> {
        self.stamped().map(|s| &s.value)
    }

    /// When the shown value was fetched.
    pub fn fetched_at(&self) -> Option<i64> {
        self.stamped().map(|s| s.fetched_at)
    }

    /// Whether a job is running.
    pub fn is_loading(&self) -> bool {
        matches!(self, Loadable::Loading { .. })
    }

    /// The last error, if the last job failed.
    pub fn error(&self) -> Option<&str> {
        match self {
            Loadable::Failed { error, .. } => Some(error),
            _ => None,
        }
    }

    fn take_previous(&mut self) -> Option<Stamped<T>> {
        match std::mem::take(self) {
            Loadable::Idle { previous } | Loadable::Loading { previous, .. } | Loadable::Failed { previous, .. } => {
                previous
            }
            Loadable::Ready(s) => Some(s),
        }
    }

    /// Starts loading with a running job, keeping the current value visible.
    pub fn start(&mut self, promise: Promise<JobResult<T>>) {
        let previous = self.take_previous();
        *self = Loadable::Loading { previous, promise };
    }

    /// Polls the job. Returns true when the state changed (finished or failed).
    pub fn poll(&mut self, now_unix: i64) -> bool {
        let Loadable::Loading { promise, .. } = self else {
            return false;
        };
        if promise.ready().is_none() {
            return false;
        }
        let Loadable::Loading { previous, promise } = std::mem::take(self) else {
            return false;
        };
        *self = match promise.block_and_take() {
            Ok(value) => Loadable::Ready(Stamped { value, fetched_at: now_unix }),
            Err(error) => Loadable::Failed { previous, error },
        };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keeps_the_last_good_value() {
        let mut l = Loadable::ready(vec![1, 2, 3], 100);
        let (tx, p) = Promise::new();
        l.start(p);
        assert!(l.is_loading());
        assert_eq!(l.value(), Some(&vec![1, 2, 3]), "value stays visible while loading");
        assert!(!l.poll(200));
        tx.send(Err("site down".into()));
        assert!(l.poll(200));
        assert_eq!(l.value(), Some(&vec![1, 2, 3]));
        assert_eq!(l.fetched_at(), Some(100));
        assert_eq!(l.error(), Some("site down"));
    }

    #[test]
    fn success_replaces_value_and_stamp() {
        let mut l: Loadable<u32> = Loadable::default();
        assert_eq!(l.value(), None);
        let (tx, p) = Promise::new();
        l.start(p);
        tx.send(Ok(7));
        assert!(l.poll(300));
        assert_eq!(l.value(), Some(&7));
        assert_eq!(l.fetched_at(), Some(300));
    }
}
