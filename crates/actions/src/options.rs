//! How the delivery loop works: batch, lease, polling, timeouts and back-off (R51).

use std::time::Duration;

/// How notifications are delivered. The defaults suit a mail server that may be down for
/// a while: a notification is tried 12 times over about three and a half hours (10 s,
/// 20 s, 40 s… doubling up to an hour between attempts) before it fails for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOptions {
    /// How many notifications one iteration claims at most (default 16). A node never
    /// holds more than this many at once.
    pub batch_size: usize,
    /// How long a claimed notification is leased to the node (default 2 min); it must be
    /// longer than the notifier timeout, so that a lease lapses only when its node died.
    pub lease: Duration,
    /// How long the loop waits after an iteration that found less than a batch
    /// (default 1 s).
    pub poll_interval: Duration,
    /// How long one notifier call may take (default 30 s); a call past it counts as a
    /// transient failure.
    pub notifier_timeout: Duration,
    /// The delay before the first retry (default 10 s); each next one doubles it.
    pub first_retry: Duration,
    /// The longest delay between two attempts (default 1 h).
    pub max_retry: Duration,
    /// How many attempts a notification gets before it fails for good (default 12).
    pub max_attempts: u32,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            batch_size: 16,
            lease: Duration::from_secs(120),
            poll_interval: Duration::from_secs(1),
            notifier_timeout: Duration::from_secs(30),
            first_retry: Duration::from_secs(10),
            max_retry: Duration::from_secs(3600),
            max_attempts: 12,
        }
    }
}

/// An option the delivery loop cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid delivery option `{option}` = `{value}`: {reason}")]
pub struct InvalidDeliveryOption {
    /// The option's name.
    pub option: &'static str,
    /// Its value.
    pub value: String,
    /// Why it is refused.
    pub reason: &'static str,
}

impl DeliveryOptions {
    /// Checks the options; the error names the option and its value.
    pub fn validate(&self) -> Result<(), InvalidDeliveryOption> {
        let invalid = |option, value: String, reason| {
            Err(InvalidDeliveryOption {
                option,
                value,
                reason,
            })
        };
        if self.batch_size == 0 || self.batch_size > 1000 {
            return invalid(
                "batch_size",
                self.batch_size.to_string(),
                "must be between 1 and 1000",
            );
        }
        if self.notifier_timeout.is_zero() {
            return invalid(
                "notifier_timeout",
                format!("{:?}", self.notifier_timeout),
                "must be positive",
            );
        }
        if self.lease <= self.notifier_timeout {
            return invalid(
                "lease",
                format!("{:?}", self.lease),
                "must be longer than notifier_timeout",
            );
        }
        if self.poll_interval.is_zero() {
            return invalid(
                "poll_interval",
                format!("{:?}", self.poll_interval),
                "must be positive",
            );
        }
        if self.first_retry.is_zero() || self.first_retry > self.max_retry {
            return invalid(
                "first_retry",
                format!("{:?}", self.first_retry),
                "must be positive and at most max_retry",
            );
        }
        if self.max_attempts == 0 {
            return invalid("max_attempts", "0".into(), "must be at least 1");
        }
        Ok(())
    }

    /// The delay after the failed `attempt` (1, 2…) of the notification `id`: the first
    /// retry delay doubled once per earlier attempt, capped at the longest, less up to
    /// a tenth taken from the id, so that notifications that failed together (a mail
    /// server that was down) do not all come back at the same instant.
    pub fn retry_delay(&self, id: &str, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(32);
        let delay = self
            .first_retry
            .saturating_mul(1_u32 << doublings.min(31))
            .min(self.max_retry);
        let spread = fnv1a(id) % 1000;
        delay - delay.mul_f64(spread as f64 / 10_000.0)
    }
}

/// The FNV-1a hash of a text: stable across processes and releases.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_the_longest_and_is_spread_by_id() {
        // spec: R51
        let options = DeliveryOptions::default();
        let delays: Vec<Duration> = (1..=12).map(|n| options.retry_delay("x", n)).collect();
        for (n, delay) in delays.iter().enumerate() {
            let nominal = Duration::from_secs(10 << n.min(20)).min(Duration::from_secs(3600));
            assert!(
                *delay <= nominal && *delay >= nominal.mul_f64(0.9),
                "attempt {}: {delay:?} vs {nominal:?}",
                n + 1
            );
        }
        assert_eq!(options.retry_delay("x", 3), options.retry_delay("x", 3));
        assert_ne!(options.retry_delay("x", 3), options.retry_delay("y", 3));
        assert!(options.retry_delay("x", u32::MAX) <= Duration::from_secs(3600));
    }

    #[test]
    fn bad_options_are_named() {
        // spec: R51
        assert_eq!(DeliveryOptions::default().validate(), Ok(()));
        let short_lease = DeliveryOptions {
            lease: Duration::from_secs(10),
            ..DeliveryOptions::default()
        };
        assert_eq!(
            short_lease.validate().unwrap_err().to_string(),
            "invalid delivery option `lease` = `10s`: must be longer than notifier_timeout"
        );
        let none = DeliveryOptions {
            batch_size: 0,
            ..DeliveryOptions::default()
        };
        assert_eq!(none.validate().unwrap_err().option, "batch_size");
    }
}
