//! Password hashing (Argon2id) under a bound: at most `permits` checks run at once, each on a
//! blocking thread holding `argon2_memory_kib` of memory, so a burst of sign-ins waits briefly
//! for a slot (then 503 with `Retry-After`) instead of allocating memory per request.

use crate::error::ApiError;
use crate::settings::AuthSettings;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Checks running now; a Prometheus gauge.
const RUNNING: &str = "roleta_password_checks_running";
/// Requests answered 503 because every check stayed busy for the whole wait.
const BUSY: &str = "roleta_password_checks_busy_total";

/// A cheap `Clone` handle on the bounded Argon2 pool.
#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

struct Inner {
    permits: Arc<Semaphore>,
    size: usize,
    wait: Duration,
    /// Cost of new hashes; a stored hash is verified with the parameters it carries.
    params: Params,
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl Passwords {
    /// `argon2_permits = 0` sizes the pool to the cores.
    pub fn new(s: &AuthSettings) -> anyhow::Result<Self> {
        let size = match s.argon2_permits {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let params = Params::new(s.argon2_memory_kib, s.argon2_iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("auth.argon2_memory_kib / argon2_iterations: {e}"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                permits: Arc::new(Semaphore::new(size)),
                size,
                wait: Duration::from_millis(s.argon2_wait_ms),
                params,
                running: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
            }),
        })
    }

    /// How many checks may run at once.
    pub fn permits(&self) -> usize {
        self.inner.size
    }

    /// The most checks seen running at once since start: never above [`Self::permits`].
    pub fn peak(&self) -> usize {
        self.inner.peak.load(Ordering::SeqCst)
    }

    /// A new Argon2id hash in PHC string form.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move |argon| {
            let salt = SaltString::generate(&mut OsRng);
            argon
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
        })
        .await?
        .map_err(ApiError::Internal)
    }

    /// Whether `password` matches `hash`; a malformed hash matches nothing.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, ApiError> {
        self.run(move |argon| {
            PasswordHash::new(&hash)
                .map(|h| argon.verify_password(password.as_bytes(), &h).is_ok())
                .unwrap_or(false)
        })
        .await
    }

    /// Runs `work` once a permit is free. The permit moves into the blocking task, so a
    /// request dropped while its hash runs does not free the slot before the work ends.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit =
            match tokio::time::timeout(self.inner.wait, self.inner.permits.clone().acquire_owned())
                .await
            {
                Ok(Ok(permit)) => permit,
                _ => {
                    metrics::counter!(BUSY).increment(1);
                    return Err(ApiError::RetryLater {
                    busy: true,
                    message:
                        "O servidor está ocupado verificando senhas. Tente novamente em instantes."
                            .into(),
                    retry_after_secs: self.inner.wait.as_secs().max(1),
                });
                }
            };
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let now = inner.running.fetch_add(1, Ordering::SeqCst) + 1;
            inner.peak.fetch_max(now, Ordering::SeqCst);
            metrics::gauge!(RUNNING).increment(1.0);
            let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, inner.params.clone());
            let out = work(&argon);
            inner.running.fetch_sub(1, Ordering::SeqCst);
            metrics::gauge!(RUNNING).decrement(1.0);
            out
        })
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("password check failed: {e}")))
    }
}
