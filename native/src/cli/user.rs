//! `spate user scram set|list|delete`: SCRAM credentials through
//! AlterUserScramCredentials and DescribeUserScramCredentials, as Kafka's
//! `kafka-configs.sh --entity-type users --alter --add-config
//! 'SCRAM-SHA-256=[...]'` does. The password never leaves this process:
//! it is salted here (a fresh 32-byte salt) and only the salted password
//! is sent.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use bytestring::ByteString;
use clap::{Args, Subcommand};
use spate_core::protocol::messages::alter_user_scram_credentials_request::{
    AlterUserScramCredentialsRequest, ScramCredentialDeletion, ScramCredentialUpsertion,
};
use spate_core::protocol::messages::describe_user_scram_credentials_request::{
    DescribeUserScramCredentialsRequest, UserName,
};
use spate_core::protocol::{RequestBody, ResponseBody};
use spate_core::security::sasl::scram::salted_password;
use spate_core::security::sasl::Mechanism;

use super::table;
use crate::client::{check, Client, ConnArgs};

/// Kafka's default iteration count (`kafka-configs.sh` takes 4096 when
/// none is given).
const DEFAULT_ITERATIONS: i32 = 4096;

/// `spate user`.
#[derive(Debug, Args)]
pub(crate) struct UserArgs {
    /// The brokers and how to reach them.
    #[command(flatten)]
    conn: ConnArgs,
    /// What to do.
    #[command(subcommand)]
    kind: Kind,
}

/// The credential kinds.
#[derive(Debug, Subcommand)]
enum Kind {
    /// SCRAM-SHA-256 and SCRAM-SHA-512 credentials.
    #[command(subcommand)]
    Scram(Scram),
}

/// The `user scram` actions.
#[derive(Debug, Subcommand)]
enum Scram {
    /// Set (create or replace) a user's credential for one mechanism.
    Set(SetArgs),
    /// List users' mechanisms and iteration counts.
    List {
        /// Only this user (every user with a credential when absent).
        user: Option<String>,
    },
    /// Delete a user's credential for one mechanism.
    Delete {
        /// The user.
        user: String,
        /// SCRAM-SHA-256 or SCRAM-SHA-512.
        #[arg(long, value_name = "MECHANISM")]
        mechanism: String,
    },
}

/// `user scram set`.
#[derive(Debug, Args)]
struct SetArgs {
    /// The user.
    user: String,
    /// SCRAM-SHA-256 or SCRAM-SHA-512.
    #[arg(long, value_name = "MECHANISM", default_value = "SCRAM-SHA-256")]
    mechanism: String,
    /// PBKDF2 iterations (the broker accepts 4096 to 16384).
    #[arg(long, default_value_t = DEFAULT_ITERATIONS)]
    iterations: i32,
    /// The password (visible in the process list: prefer
    /// `--password-file` or stdin).
    #[arg(long, conflicts_with = "password_file")]
    password: Option<String>,
    /// A file whose first line is the password. Without this or
    /// `--password`, the first line of stdin is.
    #[arg(long = "password-file", value_name = "FILE")]
    password_file: Option<PathBuf>,
}

/// Runs `spate user`.
pub(crate) fn run(args: UserArgs) -> anyhow::Result<ExitCode> {
    let Kind::Scram(action) = args.kind;
    // The request is built before connecting, so that a bad mechanism or
    // a missing password is reported without a broker.
    let req = match &action {
        Scram::Set(set) => Some(upsertion_request(set, &password(set)?)?),
        Scram::Delete { user, mechanism } => Some(deletion_request(user, mechanism)?),
        Scram::List { .. } => None,
    };
    let mut client = Client::connect(&args.conn)?;
    match (action, req) {
        (Scram::List { user }, _) => list(&mut client, user)?,
        (_, Some(req)) => alter(&mut client, req)?,
        (_, None) => unreachable!("set and delete build their request"),
    }
    Ok(ExitCode::SUCCESS)
}

/// A SCRAM mechanism by name.
fn scram_mechanism(name: &str) -> anyhow::Result<Mechanism> {
    Mechanism::parse(&name.to_ascii_uppercase())
        .filter(|m| m.scram_id().is_some())
        .ok_or_else(|| anyhow!("--mechanism `{name}`: expected SCRAM-SHA-256 or SCRAM-SHA-512"))
}

/// The password of `set`: the flag, the file's first line, or stdin's.
fn password(set: &SetArgs) -> anyhow::Result<String> {
    if let Some(p) = &set.password {
        return Ok(p.clone());
    }
    let line = match &set.password_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading --password-file {}", path.display()))?
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
        None => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if line.is_empty() {
        bail!("the password is empty (give --password, --password-file or a line on stdin)");
    }
    Ok(line)
}

/// The AlterUserScramCredentials upsertion of `set` with `password`, salted
/// with a fresh 32-byte salt.
fn upsertion_request(
    set: &SetArgs,
    password: &str,
) -> anyhow::Result<AlterUserScramCredentialsRequest> {
    let mechanism = scram_mechanism(&set.mechanism)?;
    let mut salt = [0u8; 32];
    getrandom::getrandom(&mut salt).map_err(|e| anyhow!("getting random bytes for a salt: {e}"))?;
    Ok(upsertion(
        &set.user,
        mechanism,
        set.iterations,
        &salt,
        password,
    ))
}

/// The request that sets `user`'s credential.
fn upsertion(
    user: &str,
    mechanism: Mechanism,
    iterations: i32,
    salt: &[u8],
    password: &str,
) -> AlterUserScramCredentialsRequest {
    let salted = salted_password(mechanism, password, salt, iterations);
    AlterUserScramCredentialsRequest {
        upsertions: vec![ScramCredentialUpsertion {
            name: ByteString::from(user),
            mechanism: mechanism.scram_id().unwrap_or_default(),
            iterations,
            salt: Bytes::copy_from_slice(salt),
            salted_password: Bytes::from(salted),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The request that deletes `user`'s credential for `mechanism`.
fn deletion_request(
    user: &str,
    mechanism: &str,
) -> anyhow::Result<AlterUserScramCredentialsRequest> {
    let mechanism = scram_mechanism(mechanism)?;
    Ok(AlterUserScramCredentialsRequest {
        deletions: vec![ScramCredentialDeletion {
            name: ByteString::from(user),
            mechanism: mechanism.scram_id().unwrap_or_default(),
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// Sends an AlterUserScramCredentials request; a user's error is the
/// command's.
fn alter(client: &mut Client, req: AlterUserScramCredentialsRequest) -> anyhow::Result<()> {
    let what = if req.deletions.is_empty() {
        "set"
    } else {
        "deleted"
    };
    let resp = client.send(RequestBody::AlterUserScramCredentials(req))?;
    let ResponseBody::AlterUserScramCredentials(resp) = resp else {
        bail!("AlterUserScramCredentials answered with another API");
    };
    for r in &resp.results {
        check(
            &format!("user {}", r.user),
            r.error_code,
            r.error_message.as_ref(),
        )?;
        outln!("{what} the SCRAM credential of user {}", r.user)?;
    }
    Ok(())
}

/// `user scram list`.
fn list(client: &mut Client, user: Option<String>) -> anyhow::Result<()> {
    let req = DescribeUserScramCredentialsRequest {
        users: user.map(|u| {
            vec![UserName {
                name: ByteString::from(u),
                ..Default::default()
            }]
        }),
        ..Default::default()
    };
    let resp = client.send(RequestBody::DescribeUserScramCredentials(req))?;
    let ResponseBody::DescribeUserScramCredentials(resp) = resp else {
        bail!("DescribeUserScramCredentials answered with another API");
    };
    check(
        "DescribeUserScramCredentials",
        resp.error_code,
        resp.error_message.as_ref(),
    )?;
    let mut rows = Vec::new();
    for r in &resp.results {
        check(
            &format!("user {}", r.user),
            r.error_code,
            r.error_message.as_ref(),
        )?;
        for c in &r.credential_infos {
            let mechanism = Mechanism::from_scram_id(c.mechanism).map_or_else(
                || format!("UNKNOWN({})", c.mechanism),
                |m| m.name().to_string(),
            );
            rows.push(vec![
                r.user.to_string(),
                mechanism,
                c.iterations.to_string(),
            ]);
        }
    }
    rows.sort();
    out!(
        "{}",
        table::render(&["USER", "MECHANISM", "ITERATIONS"], &rows)
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: UserArgs,
    }

    fn parse(args: &[&str]) -> UserArgs {
        Cli::try_parse_from(std::iter::once("user").chain(args.iter().copied()))
            .unwrap()
            .args
    }

    #[test]
    fn set_parses_and_builds_an_upsertion() {
        let a = parse(&[
            "scram",
            "set",
            "alice",
            "--mechanism",
            "SCRAM-SHA-512",
            "--iterations",
            "8192",
            "--password",
            "alice-secret",
        ]);
        let Kind::Scram(Scram::Set(set)) = a.kind else {
            panic!("not set: {a:?}");
        };
        assert_eq!(password(&set).unwrap(), "alice-secret");
        let req = upsertion_request(&set, "alice-secret").unwrap();
        let u = &req.upsertions[0];
        assert!(req.deletions.is_empty());
        assert_eq!(&*u.name, "alice");
        assert_eq!((u.mechanism, u.iterations), (2, 8192));
        assert_eq!(u.salt.len(), 32);
        // Two runs salt differently.
        let again = upsertion_request(&set, "alice-secret").unwrap();
        assert_ne!(again.upsertions[0].salt, u.salt);
        // The salted password is the one `salted_password` makes of that salt.
        assert_eq!(
            u.salted_password.to_vec(),
            salted_password(Mechanism::ScramSha512, "alice-secret", &u.salt, 8192)
        );
    }

    #[test]
    fn set_defaults_and_password_file() {
        let path = std::env::temp_dir().join(format!("spate-user-pw-{}", std::process::id()));
        std::fs::write(&path, "from-file\nsecond line\n").unwrap();
        let a = parse(&[
            "scram",
            "set",
            "bob",
            "--password-file",
            path.to_str().unwrap(),
        ]);
        let Kind::Scram(Scram::Set(set)) = a.kind else {
            panic!("not set");
        };
        assert_eq!(set.mechanism, "SCRAM-SHA-256");
        assert_eq!(set.iterations, DEFAULT_ITERATIONS);
        assert_eq!(password(&set).unwrap(), "from-file");
        std::fs::remove_file(&path).unwrap();
        assert!(Cli::try_parse_from([
            "user",
            "scram",
            "set",
            "bob",
            "--password",
            "x",
            "--password-file",
            "f"
        ])
        .is_err());
    }

    #[test]
    fn delete_and_list_parse() {
        let a = parse(&["scram", "delete", "alice", "--mechanism", "scram-sha-256"]);
        let Kind::Scram(Scram::Delete { user, mechanism }) = a.kind else {
            panic!("not delete");
        };
        let req = deletion_request(&user, &mechanism).unwrap();
        assert!(req.upsertions.is_empty());
        assert_eq!(&*req.deletions[0].name, "alice");
        assert_eq!(req.deletions[0].mechanism, 1);
        assert!(deletion_request("alice", "PLAIN").is_err());
        assert!(Cli::try_parse_from(["user", "scram", "delete", "alice"]).is_err());
        let a = parse(&["scram", "list"]);
        assert!(matches!(a.kind, Kind::Scram(Scram::List { user: None })));
        let a = parse(&["scram", "list", "carol"]);
        assert!(matches!(a.kind, Kind::Scram(Scram::List { user: Some(u) }) if u == "carol"));
    }
}
