//! Backoff with jitter and a total budget.
//!
//! Waiting is how a client gets out of another transaction's way (a live
//! lock) or waits for a route to settle. Delays double from a small base up to
//! a cap, each drawn at random below its bound ("full jitter") so that many
//! clients stuck on one key do not retry in lockstep; the budget bounds how
//! long one operation may keep trying.

use crate::metrics::{self, BackoffReason};
use crate::{Error, Result};
use rand::Rng;
use std::time::Duration;

const BASE: Duration = Duration::from_millis(2);
const CAP: Duration = Duration::from_millis(500);

/// The waiting state of one operation.
pub struct Backoff {
    budget: Duration,
    waited: Duration,
    attempt: u32,
}

impl Backoff {
    /// A fresh backoff allowed to wait `budget` in total.
    pub fn new(budget: Duration) -> Self {
        Self {
            budget,
            waited: Duration::ZERO,
            attempt: 0,
        }
    }

    /// How many times this operation has waited, that is, retried.
    pub fn tries(&self) -> u32 {
        self.attempt
    }

    /// Sleep before the next try, or fail if the budget is spent. `reason`
    /// is counted in the metrics; `detail` says what happened, for the error.
    pub async fn wait(&mut self, reason: BackoffReason, detail: impl Into<String>) -> Result<()> {
        if self.waited >= self.budget {
            return Err(Error::BackoffExhausted {
                waited: self.waited,
                last: detail.into(),
            });
        }
        let bound = BASE.saturating_mul(1 << self.attempt.min(16)).min(CAP);
        let delay = rand::rng()
            .random_range(bound / 2..=bound)
            .min(self.budget - self.waited);
        self.attempt += 1;
        self.waited += delay;
        metrics::backed_off(reason, delay);
        let slept = metrics::clock();
        tokio::time::sleep(delay).await;
        metrics::waited_on_kv(slept);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_budget() {
        let mut backoff = Backoff::new(Duration::from_secs(2));
        let mut tries = 0;
        while backoff.wait(BackoffReason::Region, "busy").await.is_ok() {
            tries += 1;
            assert!(tries < 100);
        }
        assert!(tries > 3);
        assert!(backoff.waited <= Duration::from_secs(2));
    }
}
