//! Retrying transient failures (the host restarting, a busy network) with exponential backoff.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    /// Give up after this long in total.
    pub give_up_after: Duration,
}

impl Backoff {
    /// Delays: first, 2·first, 4·first, … capped at `max`.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + '_ {
        let mut next = self.first;
        std::iter::from_fn(move || {
            let d = next;
            next = (next * 2).min(self.max);
            Some(d)
        })
    }

    /// Runs `attempt` until it succeeds, fails permanently (`Err(Permanent)`), or time is up.
    pub async fn retry<T, F, Fut>(&self, what: &str, mut attempt: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Failure>>,
    {
        let started = tokio::time::Instant::now();
        let mut delays = self.delays();
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(Failure::Permanent(e)) => return Err(e),
                Err(Failure::Transient(e)) => {
                    let delay = delays.next().unwrap_or(self.max);
                    if started.elapsed() + delay > self.give_up_after {
                        return Err(e.context(format!(
                            "{what}: still failing after {:.0} s of retries",
                            started.elapsed().as_secs_f64()
                        )));
                    }
                    tracing::warn!("{what}: {e:#}; retrying in {:.1} s", delay.as_secs_f64());
                    eprintln!(
                        "luna-agent: {what}: {e:#}; retrying in {:.1} s",
                        delay.as_secs_f64()
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

/// Whether retrying can help.
#[derive(Debug)]
pub enum Failure {
    Transient(anyhow::Error),
    Permanent(anyhow::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let b = Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(5),
            give_up_after: Duration::from_secs(60),
        };
        let d: Vec<u64> = b.delays().take(5).map(|d| d.as_secs()).collect();
        assert_eq!(d, vec![1, 2, 4, 5, 5]);
    }

    #[tokio::test]
    async fn transient_failures_are_retried_and_permanent_ones_are_not() {
        let b = Backoff {
            first: Duration::from_millis(1),
            max: Duration::from_millis(2),
            give_up_after: Duration::from_secs(5),
        };
        let mut calls = 0;
        let v = b
            .retry("test", || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 3 {
                        Err(Failure::Transient(anyhow::anyhow!("busy")))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(v, 3);
        let mut calls = 0;
        let e = b
            .retry::<(), _, _>("test", || {
                calls += 1;
                async { Err(Failure::Permanent(anyhow::anyhow!("no such node"))) }
            })
            .await
            .unwrap_err();
        assert_eq!(calls, 1);
        assert!(e.to_string().contains("no such node"));
    }
}
