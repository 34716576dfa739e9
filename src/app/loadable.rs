//! `Loadable<T>`: a remote or stored value that keeps the last good value while it
//! reloads or after it fails, so panels never blank. The job itself lives in the job
//! registry under its name; its result comes back through [`Loadable::finish`].

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
            Loadable::Idle { previous } | Loadable::Loading { previous } | Loadable::Failed { previous, .. } => {
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
            Loadable::Idle { previous } | Loadable::Loading { previous } | Loadable::Failed { previous, .. } => {
                previous
            }
            Loadable::Ready(s) => Some(s),
        }
    }

    /// Marks a job as started, keeping the current value visible.
    pub fn start(&mut self) {
        let previous = self.take_previous();
        *self = Loadable::Loading { previous };
    }

    /// Lands a job's result: a value replaces the shown one, an error keeps it.
    pub fn finish(&mut self, result: JobResult<T>, now_unix: i64) {
        let previous = self.take_previous();
        *self = match result {
            Ok(value) => Loadable::Ready(Stamped { value, fetched_at: now_unix }),
            Err(error) => Loadable::Failed { previous, error },
        };
    }

    /// Back to idle (a job was lost), keeping the value.
    pub fn stop(&mut self) {
        let previous = self.take_previous();
        *self = Loadable::Idle { previous };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keeps_the_last_good_value() {
        let mut l = Loadable::ready(vec![1, 2, 3], 100);
        l.start();
        assert!(l.is_loading());
        assert_eq!(l.value(), Some(&vec![1, 2, 3]), "value stays visible while loading");
        l.finish(Err("site down".into()), 200);
        assert_eq!(l.value(), Some(&vec![1, 2, 3]));
        assert_eq!(l.fetched_at(), Some(100));
        assert_eq!(l.error(), Some("site down"));
    }

    #[test]
    fn success_replaces_value_and_stamp() {
        let mut l: Loadable<u32> = Loadable::default();
        assert_eq!(l.value(), None);
        l.start();
        l.finish(Ok(7), 300);
        assert_eq!(l.value(), Some(&7));
        assert_eq!(l.fetched_at(), Some(300));
    }
}
