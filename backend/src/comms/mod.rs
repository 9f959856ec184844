//! Member communications (issue 6, decisions D16 to D20): the provider clients, the outbox that
//! queues rendered messages in the transaction of the event that caused them, the worker that
//! sends them, the scheduled jobs, delivery callbacks, and the signed member links.
//!
//! What every part needs from the server's configuration (its public address, the key that signs
//! member links, the providers' base URLs and the cipher that opens their keys) is the process's
//! [`Runtime`], set once at start-up with [`configure`]. Messages are rendered where their event
//! happens (an order deep inside a webhook, a job), so the runtime is global rather than threaded
//! through every caller.

pub mod admin;
pub mod callbacks;
pub mod links;
pub mod outbox;
pub mod preferences;
pub mod providers;
pub mod settings;
pub mod snapshot;
pub mod worker;

use crate::crypto::Cipher;
use providers::Endpoints;
use std::sync::OnceLock;

/// The configuration the messaging code reads.
#[derive(Debug)]
pub struct Runtime {
    /// Where members' links point (`VINCULUM_PUBLIC_URL`), without a trailing slash.
    pub public_url: String,
    /// Signs unsubscribe and preference links.
    pub link_key: Vec<u8>,
    /// Opens the wineries' provider keys.
    pub cipher: Option<Cipher>,
    /// The providers' base URLs (tests point them at wiremock).
    pub endpoints: Endpoints,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// Sets the runtime. The first call wins; later calls (tests in one process) are ignored.
pub fn configure(runtime: Runtime) {
    let _ = RUNTIME.set(runtime);
}

/// The runtime. Before [`configure`] (a command that never sends), links are signed with a key
/// made for this process only, so they cannot be forged and stop working at exit.
pub fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        use rand::RngCore as _;
        let mut key = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Runtime {
            public_url: "http://127.0.0.1:3000".to_owned(),
            link_key: key,
            cipher: None,
            endpoints: Endpoints::production(),
        }
    })
}

impl Runtime {
    /// The runtime for a server with `cipher` at `public_url`.
    pub fn new(public_url: &str, cipher: Cipher, endpoints: Endpoints) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            link_key: cipher.derive_key(b"member-links"),
            cipher: Some(cipher),
            endpoints,
        }
    }
}
