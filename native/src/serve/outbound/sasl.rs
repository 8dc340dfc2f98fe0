//! SASL on a new inter-broker connection, as Kafka's broker-side client
//! does it: SaslHandshake v1 names the mechanism, then SaslAuthenticate v1
//! carries its tokens (PLAIN's one, SCRAM's client-first and client-final
//! through [`ScramClient`], whose server signature is checked). A refusal
//! is an error naming Kafka's error code and the other broker's message.

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use bytestring::ByteString;
use spate_core::protocol::header::{decode_response, encode_request};
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::messages::sasl_authenticate_request::SaslAuthenticateRequest;
use spate_core::protocol::messages::sasl_handshake_request::SaslHandshakeRequest;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::security::sasl::scram::ScramClient;
use spate_core::security::sasl::Mechanism;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::BrokerStream;
use crate::client::security::sasl::plain_token;
use crate::client::security::{Credential, SaslLogin};

/// The largest SASL answer read (a SCRAM server message is small).
const MAX_ANSWER: usize = 64 << 10;

/// The correlation id of the SASL requests (the callers' own requests
/// follow on the same connection with theirs).
const CORRELATION_ID: i32 = i32::MAX;

/// Authenticates `stream` as `login`.
pub(crate) async fn authenticate(
    stream: &mut BrokerStream,
    login: &SaslLogin,
    client_id: &str,
) -> anyhow::Result<()> {
    let Credential::Password { username, password } = &login.credential else {
        bail!("OAUTHBEARER is not spoken between brokers");
    };
    let handshake = RequestBody::SaslHandshake(SaslHandshakeRequest {
        mechanism: ByteString::from_static(login.mechanism.name()),
        ..Default::default()
    });
    let ResponseBody::SaslHandshake(r) = ask(stream, client_id, handshake).await? else {
        bail!("SaslHandshake answered with another API");
    };
    match ErrorCode(r.error_code) {
        ErrorCode::NONE => {}
        code => bail!(
            "SaslHandshake: {code}: {} is not enabled there (enabled: {})",
            login.mechanism.name(),
            r.mechanisms
                .iter()
                .map(|m| &**m)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    match login.mechanism {
        Mechanism::Plain => {
            step(stream, client_id, plain_token(username, password)).await?;
        }
        Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
            let mut seed = [0u8; 32];
            getrandom::getrandom(&mut seed)
                .map_err(|e| anyhow!("getting random bytes for the SCRAM nonce: {e}"))?;
            let mut scram = ScramClient::new(login.mechanism, username, password, seed);
            let server_first = step(stream, client_id, scram.client_first()).await?;
            let client_final = scram
                .client_final(&server_first)
                .map_err(|e| anyhow!("{}: {e}", login.mechanism.name()))?;
            let server_final = step(stream, client_id, client_final).await?;
            scram.verify_server_final(&server_final).map_err(|e| {
                anyhow!("{}: the other broker's proof: {e}", login.mechanism.name())
            })?;
        }
        Mechanism::OAuthBearer => bail!("OAUTHBEARER is not spoken between brokers"),
    }
    Ok(())
}

/// One SaslAuthenticate round: sends `token`, returns the answer's.
async fn step(
    stream: &mut BrokerStream,
    client_id: &str,
    token: Vec<u8>,
) -> anyhow::Result<Vec<u8>> {
    let body = RequestBody::SaslAuthenticate(SaslAuthenticateRequest {
        auth_bytes: Bytes::from(token),
        ..Default::default()
    });
    let ResponseBody::SaslAuthenticate(r) = ask(stream, client_id, body).await? else {
        bail!("SaslAuthenticate answered with another API");
    };
    if r.error_code != 0 {
        let code = ErrorCode(r.error_code);
        match r
            .error_message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
        {
            Some(m) => bail!("{code}: {m}"),
            None => bail!("{code}"),
        }
    }
    Ok(r.auth_bytes.to_vec())
}

/// Writes a v1 request and reads its answer.
async fn ask(
    stream: &mut BrokerStream,
    client_id: &str,
    body: RequestBody,
) -> anyhow::Result<ResponseBody> {
    const VERSION: i16 = 1;
    let key = body.api_key();
    let header = RequestHeader {
        request_api_key: key as i16,
        request_api_version: VERSION,
        correlation_id: CORRELATION_ID,
        client_id: Some(ByteString::from(client_id)),
        ..Default::default()
    };
    let frame =
        encode_request(&header, &body).map_err(|e| anyhow!("encoding {}: {e}", key.name()))?;
    stream.write_all(&frame).await.context("writing")?;
    // A broker that refuses the connection (a PLAINTEXT port, a closed
    // one) ends it here.
    let size = stream.read_u32().await.context("reading the answer")? as usize;
    if size > MAX_ANSWER {
        bail!("a {} answer of {size} bytes", key.name());
    }
    let mut buf = vec![0; size];
    stream
        .read_exact(&mut buf)
        .await
        .context("reading the answer")?;
    let (h, answer) = decode_response(&Bytes::from(buf), key, VERSION)
        .map_err(|e| anyhow!("decoding the {} answer: {e}", key.name()))?;
    if h.correlation_id != CORRELATION_ID {
        bail!(
            "the {} answer has correlation id {}",
            key.name(),
            h.correlation_id
        );
    }
    Ok(answer)
}
