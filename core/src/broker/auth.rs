//! Authentication of connections, as Kafka's `SaslServerAuthenticator`
//! runs it.
//!
//! A connection on a PLAINTEXT or SSL listener is who it is from the start
//! (`User:ANONYMOUS`, or its TLS certificate's principal). On a SASL
//! listener it must authenticate before anything else is answered:
//!
//! ```text
//!   Start ──ApiVersions──► Start            (answered, as often as asked)
//!     │ SaslHandshake(mechanism)            (UNSUPPORTED_SASL_MECHANISM closes)
//!     ▼
//!   Exchanging ──SaslAuthenticate(token)──► Exchanging   (challenge)
//!     │ last token                          (a failure is answered, then closed)
//!     ▼
//!   Authenticated ──any request──► served, until the session expires
//!     │ SaslHandshake + SaslAuthenticate     (KIP-368 re-authentication:
//!     ▼                                      same mechanism, same principal)
//!   Exchanging (re-authentication) ...
//! ```
//!
//! Any other request before authentication closes the connection. A
//! SaslHandshake v0 means the tokens that follow come as bare frames, each
//! a 4-byte size and the token, answered the same way (the pre-KIP-152
//! framing old clients use). With `connections.max.reauth.ms` set, a SASL
//! session lasts that long (less if the credential expires first, an
//! OAuth token's `exp`); SaslAuthenticate v1+ tells the client, and a
//! request other than a re-authentication after that closes the
//! connection.

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use super::{Broker, ConnId, Now, Output};
use crate::api::Answering;
use crate::protocol::header::{decode_request_header, peek_request};
use crate::protocol::messages::sasl_authenticate_response::SaslAuthenticateResponse;
use crate::protocol::messages::sasl_handshake_response::SaslHandshakeResponse;
use crate::protocol::{ApiKey, ErrorCode, Reader, RequestBody, ResponseBody};
use crate::security::sasl::{Credentials, Exchange, Mechanism, OAuthConfig, ScramCredential, Step};
use crate::security::{ListenerSecurity, Principal};
use crate::state::config::Config;
use crate::state::security::SecurityImage;
use crate::storage::Storage;

/// Where a connection stands in authentication.
#[derive(Debug)]
pub(super) enum Auth {
    /// Its listener does not use SASL: nothing to do.
    Open,
    /// A SASL listener, before SaslHandshake.
    Start,
    /// Between SaslHandshake and the last token.
    Exchanging {
        mechanism: Mechanism,
        exchange: Exchange,
        /// Tokens come as bare frames (SaslHandshake v0).
        raw: bool,
    },
    /// Authenticated with `mechanism`; the session ends at `expires_at`.
    Authenticated {
        mechanism: Mechanism,
        expires_at: Option<Now>,
    },
}

/// What to do with a frame after authentication looked at it.
pub(super) enum Gate {
    /// Hand it to the API layer.
    Dispatch,
    /// Authentication answered it (or closed the connection).
    Done,
}

/// A listener's PLAIN users and the cluster's SCRAM credentials.
struct Creds<'a> {
    listener: Option<&'a ListenerSecurity>,
    image: &'a SecurityImage,
    oauth: &'a OAuthConfig,
    mock_secret: &'a [u8; 32],
}

impl Credentials for Creds<'_> {
    fn plain_password(&self, user: &str) -> Option<&str> {
        self.listener?.plain_users.get(user).map(String::as_str)
    }

    fn scram(&self, mechanism: Mechanism, user: &str) -> Option<ScramCredential> {
        self.image.scram_credential(user, mechanism)
    }

    fn oauth(&self) -> &OAuthConfig {
        self.oauth
    }

    fn mock_secret(&self) -> &[u8; 32] {
        self.mock_secret
    }
}

impl<S: Storage> Broker<S> {
    /// How a new connection on `listener` starts.
    pub(super) fn initial_auth(&self, listener: &str) -> Auth {
        match self
            .config
            .security
            .protocol(listener_of(&self.config, listener))
            .sasl()
        {
            true => Auth::Start,
            false => Auth::Open,
        }
    }

    /// Looks at a frame of `conn` before the API layer does: answers the
    /// SASL APIs and raw tokens, refuses what an unauthenticated or expired
    /// connection may not send.
    pub(super) fn gate(&mut self, conn: ConnId, frame: &Bytes, now: Now) -> Gate {
        let Some(c) = self.conns.get(&conn) else {
            return Gate::Done;
        };
        if let Auth::Exchanging { raw: true, .. } = c.auth {
            self.token(conn, None, frame, now);
            return Gate::Done;
        }
        let Some((key, _)) = peek_request(frame) else {
            // Too short for a header: the API layer closes it with its reason.
            return Gate::Dispatch;
        };
        let key = ApiKey::from_i16(key);
        match (&c.auth, key) {
            (_, Some(ApiKey::SaslHandshake | ApiKey::SaslAuthenticate)) => {
                self.sasl_request(conn, frame, now);
                Gate::Done
            }
            (Auth::Open, _) | (Auth::Start, Some(ApiKey::ApiVersions)) => Gate::Dispatch,
            (Auth::Authenticated { expires_at, .. }, _) => match expires_at {
                Some(at) if *at <= now => {
                    self.close(
                        conn,
                        "the SASL session expired without re-authentication".into(),
                    );
                    Gate::Done
                }
                _ => Gate::Dispatch,
            },
            (Auth::Start | Auth::Exchanging { .. }, key) => {
                let name = key.map_or("an unknown API", |k| k.name());
                self.close(
                    conn,
                    format!("unexpected {name} request during SASL authentication"),
                );
                Gate::Done
            }
        }
    }

    /// A SaslHandshake or SaslAuthenticate request.
    fn sasl_request(&mut self, conn: ConnId, frame: &Bytes, now: Now) {
        let mut r = Reader::new(frame);
        let (key, header) = match decode_request_header(&mut r) {
            Ok(h) => h,
            Err(e) => return self.close(conn, format!("bad request header: {e}")),
        };
        let version = header.request_api_version;
        if !key.versions().contains(version) {
            return self.close(conn, format!("{} v{version} is not supported", key.name()));
        }
        let body = match crate::api::served::decode_request(key, &mut r, version) {
            Some(Ok(b)) => b,
            None => return self.close(conn, "not a SASL request".into()),
            Some(Err(e)) => {
                return self.close(conn, format!("bad {} v{version} request: {e}", key.name()))
            }
        };
        let answering = Answering {
            correlation_id: header.correlation_id,
            key,
            version,
            metric: key.name(),
        };
        match body {
            RequestBody::SaslHandshake(req) => self.handshake(conn, answering, &req.mechanism),
            RequestBody::SaslAuthenticate(req) => {
                self.token(conn, Some(answering), &req.auth_bytes, now)
            }
            _ => self.close(conn, "not a SASL request".into()),
        }
    }

    /// SaslHandshake: starts an exchange of `mechanism` if the listener
    /// enables it.
    fn handshake(&mut self, conn: ConnId, a: Answering, mechanism: &str) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let listener = self
            .config
            .security
            .listener(listener_of(&self.config, &c.peer.listener));
        let enabled: Vec<Mechanism> = listener
            .filter(|l| l.protocol.sasl())
            .map(|l| l.sasl_mechanisms.clone())
            .unwrap_or_default();
        let names: Vec<ByteString> = enabled.iter().map(|m| m.name().into()).collect();
        let answer = |code: ErrorCode| {
            ResponseBody::SaslHandshake(SaslHandshakeResponse {
                error_code: code.code(),
                mechanisms: names.clone(),
                ..Default::default()
            })
        };
        let reauth = match &c.auth {
            Auth::Open => {
                // Kafka answers a handshake on a listener without SASL so.
                return self.send_or_close(conn, a, answer(ErrorCode::ILLEGAL_SASL_STATE));
            }
            Auth::Exchanging { .. } => {
                let _ = self.respond(conn, a, answer(ErrorCode::ILLEGAL_SASL_STATE));
                return self.close(conn, "SaslHandshake during an exchange".into());
            }
            Auth::Start => None,
            Auth::Authenticated { mechanism, .. } => Some(*mechanism),
        };
        let chosen = Mechanism::parse(mechanism).filter(|m| enabled.contains(m));
        let Some(chosen) = chosen else {
            let _ = self.respond(conn, a, answer(ErrorCode::UNSUPPORTED_SASL_MECHANISM));
            return self.close(conn, format!("unsupported SASL mechanism {mechanism}"));
        };
        if reauth.is_some_and(|m| m != chosen) || (reauth.is_some() && a.version == 0) {
            let _ = self.respond(conn, a, answer(ErrorCode::ILLEGAL_SASL_STATE));
            return self.close(conn, "re-authentication must use the same mechanism".into());
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.exchanges += 1;
        let mut entropy = c.peer.entropy;
        for (e, n) in entropy.iter_mut().zip(c.exchanges.to_le_bytes()) {
            *e ^= n;
        }
        c.auth = Auth::Exchanging {
            mechanism: chosen,
            exchange: Exchange::new(chosen, entropy),
            raw: a.version == 0,
        };
        self.send_or_close(conn, a, answer(ErrorCode::NONE));
    }

    /// A client token, from SaslAuthenticate (`a`) or a bare frame.
    fn token(&mut self, conn: ConnId, a: Option<Answering>, token: &[u8], now: Now) {
        let security = &self.config.security;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let name = listener_of(&self.config, &c.peer.listener);
        let Auth::Exchanging {
            mechanism,
            exchange,
            ..
        } = &mut c.auth
        else {
            let Some(a) = a else { return };
            let message = match c.auth {
                Auth::Authenticated { .. } | Auth::Open => {
                    "SaslAuthenticate request received after successful authentication"
                }
                _ => "SaslAuthenticate request received before SaslHandshake",
            };
            let body = auth_response(
                ErrorCode::ILLEGAL_SASL_STATE,
                Some(message),
                Bytes::new(),
                0,
            );
            let open = matches!(c.auth, Auth::Authenticated { .. } | Auth::Open);
            let _ = self.respond(conn, a, body);
            if !open {
                self.close(conn, message.into());
            }
            return;
        };
        let mechanism = *mechanism;
        let creds = Creds {
            listener: security.listener(name),
            image: &self.security,
            oauth: &security.oauth,
            mock_secret: &security.scram_mock_secret,
        };
        let step = exchange.step(token, &creds, now);
        let why = exchange.failure_reason();
        match step {
            Step::Continue(challenge) => {
                self.auth_reply(conn, a, ErrorCode::NONE, None, challenge, 0)
            }
            Step::Failed { code, message } => {
                self.auth_reply(conn, a, code, Some(&message), Vec::new(), 0);
                let why = why.map_or(String::new(), |w| format!(" ({w})"));
                self.close(conn, format!("SASL {}: {message}{why}", mechanism.name()));
            }
            Step::Done {
                user,
                token,
                expires_at,
            } => {
                let principal = Principal::user(&user);
                if c.authenticated_once && c.principal != principal {
                    let message = "Cannot change principals during re-authentication";
                    self.auth_reply(
                        conn,
                        a,
                        ErrorCode::SASL_AUTHENTICATION_FAILED,
                        Some(message),
                        Vec::new(),
                        0,
                    );
                    return self.close(conn, message.into());
                }
                let max = security.max_reauth_ms;
                let ends = match (max > 0, expires_at) {
                    (false, _) => None,
                    (true, Some(exp)) => Some((now + max).min(exp)),
                    (true, None) => Some(now + max),
                };
                c.principal = principal;
                c.authenticated_once = true;
                c.auth = Auth::Authenticated {
                    mechanism,
                    expires_at: ends,
                };
                let lifetime = ends.map_or(0, |at| (at - now).max(0));
                self.auth_reply(conn, a, ErrorCode::NONE, None, token, lifetime);
            }
        }
    }

    /// Answers a token: a SaslAuthenticate response, or a bare frame.
    fn auth_reply(
        &mut self,
        conn: ConnId,
        a: Option<Answering>,
        code: ErrorCode,
        message: Option<&str>,
        token: Vec<u8>,
        lifetime_ms: i64,
    ) {
        match a {
            Some(a) => {
                let body = auth_response(code, message, Bytes::from(token), lifetime_ms);
                self.send_or_close(conn, a, body)
            }
            // A failed bare exchange is closed without an answer, as Kafka does.
            None if code != ErrorCode::NONE => {}
            None => {
                let mut frame = BytesMut::with_capacity(4 + token.len());
                frame.put_u32(token.len() as u32);
                frame.put_slice(&token);
                // A bare token (SASL before KIP-152) is a request too.
                let bytes = frame.len();
                self.outputs.push_back(Output::Response {
                    conn,
                    chunks: vec![frame.freeze()],
                });
                self.metrics
                    .completed(conn, (ApiKey::SaslAuthenticate.name(), 0), None, bytes);
            }
        }
    }

    fn send_or_close(&mut self, conn: ConnId, a: Answering, body: ResponseBody) {
        if let Err(reason) = self.respond(conn, a, body) {
            self.close(conn, reason);
        }
    }
}

/// The configured name of a connection's listener (`""`, a connection the
/// driver did not name, is on the broker's own listener).
fn listener_of<'a>(config: &'a Config, listener: &'a str) -> &'a str {
    match listener {
        "" => config.listener_name.as_str(),
        name => name,
    }
}

fn auth_response(
    code: ErrorCode,
    message: Option<&str>,
    token: Bytes,
    lifetime_ms: i64,
) -> ResponseBody {
    ResponseBody::SaslAuthenticate(SaslAuthenticateResponse {
        error_code: code.code(),
        error_message: message.map(ByteString::from),
        auth_bytes: token,
        session_lifetime_ms: lifetime_ms,
        ..Default::default()
    })
}
