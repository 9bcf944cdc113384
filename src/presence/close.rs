//! Close codes a broker connection ends with (docs/PROTOCOL.md): the standard ones and
//! Roleta's own 4000–4004. `ws/protocol.rs` re-exports them for the edge.

pub const NORMAL: u16 = 1000;
pub const PROTOCOL: u16 = 1002;
pub const INVALID_DATA: u16 = 1007;
pub const POLICY: u16 = 1008;
pub const TOO_BIG: u16 = 1009;
pub const RESTART: u16 = 1012;
pub const IDLE: u16 = 4000;
pub const SLOW: u16 = 4001;
/// The user was deactivated: do not reconnect; signing in is refused.
pub const DEACTIVATED: u16 = 4002;
/// The session or token this connection was opened with ended (signed out, password
/// changed or reset, token revoked, no longer a broker): sign in again.
pub const SIGNED_OUT: u16 = 4003;
/// The agency's access was suspended by the platform: do not reconnect.
pub const AGENCY_SUSPENDED: u16 = 4004;

/// The close frame's reason for a code the server closes with from outside the
/// connection (the cluster sends only the code).
pub fn reason(code: u16) -> &'static str {
    match code {
        DEACTIVATED => "account deactivated",
        SIGNED_OUT => "signed out",
        AGENCY_SUSPENDED => "agency suspended",
        RESTART => "server restarting",
        SLOW => "slow consumer",
        IDLE => "idle timeout",
        _ => "closed by the server",
    }
}
