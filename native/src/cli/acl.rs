//! `spate acl add|list|remove`, as Kafka's `kafka-acls.sh`: CreateAcls,
//! DescribeAcls and DeleteAcls sent to the bootstrap broker.
//!
//! `add` creates, for each resource, an ALLOW binding per allowed
//! principal, allowed host and operation, and a DENY binding per denied
//! principal, denied host and operation (hosts default to `*`, operations
//! to `All`). `list` prints the ACLs matching the resources given (all of
//! them without one), grouped by resource. `remove` deletes the bindings
//! `add` would create from the same options, or, with no principal, every
//! ACL of the resources given.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use bytestring::ByteString;
use clap::{Args, Subcommand};
use spate_core::protocol::messages::create_acls_request::{AclCreation, CreateAclsRequest};
use spate_core::protocol::messages::delete_acls_request::{DeleteAclsFilter, DeleteAclsRequest};
use spate_core::protocol::messages::describe_acls_request::DescribeAclsRequest;
use spate_core::protocol::{RequestBody, ResponseBody};
use spate_core::security::acl::{
    AclBinding, Operation, PatternType, Permission, ResourceType, CLUSTER_NAME, WILDCARD,
};

use crate::client::{check, Client, ConnArgs};

/// `spate acl`.
#[derive(Debug, Args)]
pub(crate) struct AclArgs {
    /// The brokers and how to reach them.
    #[command(flatten)]
    conn: ConnArgs,
    /// What to do.
    #[command(subcommand)]
    action: Action,
}

/// The `acl` actions.
#[derive(Debug, Subcommand)]
enum Action {
    /// Create ACLs (CreateAcls).
    Add(AclOptions),
    /// List ACLs, grouped by resource (DescribeAcls).
    List(AclOptions),
    /// Remove the ACLs that match (DeleteAcls).
    Remove(AclOptions),
}

/// The options of kafka-acls.sh.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct AclOptions {
    /// A principal to allow (`User:alice`), repeatable.
    #[arg(long = "allow-principal", value_name = "TYPE:NAME")]
    allow_principals: Vec<String>,
    /// A principal to deny (`User:mallory`), repeatable.
    #[arg(long = "deny-principal", value_name = "TYPE:NAME")]
    deny_principals: Vec<String>,
    /// A host allowed principals may connect from (default `*`).
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
    /// A host denied principals are denied from (default `*`).
    #[arg(long = "deny-host", value_name = "HOST")]
    deny_hosts: Vec<String>,
    /// An operation (`Read`, `Write`, `Describe`, `All`, ...), repeatable;
    /// default `All`.
    #[arg(long = "operation", value_name = "OPERATION")]
    operations: Vec<String>,
    /// `list` only: the ACLs of this principal (`User:alice`).
    #[arg(long = "principal", value_name = "TYPE:NAME")]
    principal: Option<String>,
    /// A topic (`*` for every topic), repeatable.
    #[arg(long = "topic", value_name = "TOPIC")]
    topics: Vec<String>,
    /// A consumer group (`*` for every group), repeatable.
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// The cluster resource.
    #[arg(long = "cluster")]
    cluster: bool,
    /// A transactional id (`*` for every one), repeatable.
    #[arg(long = "transactional-id", value_name = "ID")]
    transactional_ids: Vec<String>,
    /// `literal` (default) or `prefixed`; for list and remove also `match`
    /// (every ACL that applies to the named resource) or `any`.
    #[arg(
        long = "resource-pattern-type",
        value_name = "TYPE",
        default_value = "literal"
    )]
    pattern_type: String,
}

/// Runs `spate acl`.
pub(crate) fn run(args: AclArgs) -> anyhow::Result<ExitCode> {
    if let Action::Add(o) | Action::Remove(o) = &args.action {
        if o.principal.is_some() {
            bail!("--principal filters `acl list`; add and remove take --allow-principal or --deny-principal");
        }
    }
    let mut client = Client::connect(&args.conn)?;
    match args.action {
        Action::Add(o) => add(&mut client, &o)?,
        Action::List(o) => list(&mut client, &o)?,
        Action::Remove(o) => remove(&mut client, &o)?,
    }
    Ok(ExitCode::SUCCESS)
}

impl AclOptions {
    /// The resources named, as (type, name).
    fn resources(&self) -> Vec<(ResourceType, String)> {
        let mut out = Vec::new();
        out.extend(self.topics.iter().map(|t| (ResourceType::Topic, t.clone())));
        out.extend(self.groups.iter().map(|g| (ResourceType::Group, g.clone())));
        if self.cluster {
            out.push((ResourceType::Cluster, CLUSTER_NAME.to_string()));
        }
        out.extend(
            self.transactional_ids
                .iter()
                .map(|t| (ResourceType::TransactionalId, t.clone())),
        );
        out
    }

    /// The pattern type; `for_add` allows only LITERAL and PREFIXED.
    fn pattern(&self, for_add: bool) -> anyhow::Result<PatternType> {
        let p = PatternType::parse(&self.pattern_type).ok_or_else(|| {
            anyhow!(
                "--resource-pattern-type `{}`: expected literal, prefixed, match or any",
                self.pattern_type
            )
        })?;
        if for_add && !matches!(p, PatternType::Literal | PatternType::Prefixed) {
            bail!("--resource-pattern-type for add is literal or prefixed");
        }
        Ok(p)
    }

    /// The operations named (`All` when none).
    fn operations(&self) -> anyhow::Result<Vec<Operation>> {
        if self.operations.is_empty() {
            return Ok(vec![Operation::All]);
        }
        self.operations
            .iter()
            .map(|o| {
                Operation::parse(o)
                    .filter(|op| *op != Operation::Any)
                    .ok_or_else(|| anyhow!("--operation `{o}` is not an operation"))
            })
            .collect()
    }

    /// The bindings `add` creates (and `remove` removes with principals).
    fn bindings(&self, pattern: PatternType) -> anyhow::Result<Vec<AclBinding>> {
        let resources = self.resources();
        if resources.is_empty() {
            bail!("name a resource: --topic, --group, --cluster or --transactional-id");
        }
        if self.allow_principals.is_empty() && self.deny_principals.is_empty() {
            bail!("name a principal: --allow-principal or --deny-principal");
        }
        for p in self.allow_principals.iter().chain(&self.deny_principals) {
            if !p
                .split_once(':')
                .is_some_and(|(t, n)| !t.is_empty() && !n.is_empty())
            {
                bail!("principal `{p}` is not TYPE:NAME (User:alice)");
            }
        }
        let ops = self.operations()?;
        for (rt, _) in &resources {
            for op in &ops {
                if *op != Operation::All && !rt.operations().contains(op) {
                    bail!("operation {} does not apply to a {}", op.name(), rt.name());
                }
            }
        }
        let hosts = |given: &[String]| -> Vec<String> {
            if given.is_empty() {
                vec![WILDCARD.to_string()]
            } else {
                given.to_vec()
            }
        };
        let mut out = Vec::new();
        for (rt, name) in &resources {
            for (permission, principals, hosts) in [
                (
                    Permission::Allow,
                    &self.allow_principals,
                    hosts(&self.allow_hosts),
                ),
                (
                    Permission::Deny,
                    &self.deny_principals,
                    hosts(&self.deny_hosts),
                ),
            ] {
                for principal in principals {
                    for host in &hosts {
                        for op in &ops {
                            out.push(AclBinding {
                                resource_type: *rt,
                                resource_name: name.clone(),
                                pattern_type: pattern,
                                principal: principal.clone(),
                                host: host.clone(),
                                operation: *op,
                                permission,
                            });
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The filters `list` and `remove` (without principals) send: one per
    /// resource, or one matching everything.
    fn resource_filters(&self) -> anyhow::Result<Vec<DeleteAclsFilter>> {
        let pattern = self.pattern(false)?;
        let resources = self.resources();
        if resources.is_empty() {
            return Ok(vec![DeleteAclsFilter {
                resource_type_filter: ResourceType::Any.code(),
                resource_name_filter: None,
                pattern_type_filter: PatternType::Any.code(),
                principal_filter: None,
                host_filter: None,
                operation: Operation::Any.code(),
                permission_type: Permission::Any.code(),
                ..Default::default()
            }]);
        }
        Ok(resources
            .into_iter()
            .map(|(rt, name)| DeleteAclsFilter {
                resource_type_filter: rt.code(),
                resource_name_filter: Some(ByteString::from(name)),
                pattern_type_filter: pattern.code(),
                principal_filter: None,
                host_filter: None,
                operation: Operation::Any.code(),
                permission_type: Permission::Any.code(),
                ..Default::default()
            })
            .collect())
    }
}

/// The CreateAcls entry of a binding.
pub(crate) fn creation(b: &AclBinding) -> AclCreation {
    AclCreation {
        resource_type: b.resource_type.code(),
        resource_name: ByteString::from(b.resource_name.as_str()),
        resource_pattern_type: b.pattern_type.code(),
        principal: ByteString::from(b.principal.as_str()),
        host: ByteString::from(b.host.as_str()),
        operation: b.operation.code(),
        permission_type: b.permission.code(),
        ..Default::default()
    }
}

/// The DeleteAcls filter matching exactly one binding.
fn exact_filter(b: &AclBinding) -> DeleteAclsFilter {
    DeleteAclsFilter {
        resource_type_filter: b.resource_type.code(),
        resource_name_filter: Some(ByteString::from(b.resource_name.as_str())),
        pattern_type_filter: b.pattern_type.code(),
        principal_filter: Some(ByteString::from(b.principal.as_str())),
        host_filter: Some(ByteString::from(b.host.as_str())),
        operation: b.operation.code(),
        permission_type: b.permission.code(),
        ..Default::default()
    }
}

/// Kafka's text for one binding's resource pattern.
fn resource_text(rt: i8, name: &str, pattern: i8) -> String {
    format!(
        "ResourcePattern(resourceType={}, name={name}, patternType={})",
        ResourceType::from_code(rt).map_or("UNKNOWN", |t| t.name()),
        PatternType::from_code(pattern).map_or("UNKNOWN", |p| p.name())
    )
}

/// Kafka's text for one ACL entry.
fn entry_text(principal: &str, host: &str, op: i8, permission: i8) -> String {
    format!(
        "(principal={principal}, host={host}, operation={}, permissionType={})",
        Operation::from_code(op).map_or("UNKNOWN", |o| o.name()),
        Permission::from_code(permission).map_or("UNKNOWN", |p| p.name())
    )
}

/// `acl add`.
fn add(client: &mut Client, o: &AclOptions) -> anyhow::Result<()> {
    let bindings = o.bindings(o.pattern(true)?)?;
    let req = CreateAclsRequest {
        creations: bindings.iter().map(creation).collect(),
        ..Default::default()
    };
    let ResponseBody::CreateAcls(resp) = client.send(RequestBody::CreateAcls(req))? else {
        bail!("CreateAcls answered with another API");
    };
    let mut failed = Vec::new();
    for (b, r) in bindings.iter().zip(&resp.results) {
        let text = entry_text(
            &b.principal,
            &b.host,
            b.operation.code(),
            b.permission.code(),
        );
        let resource = resource_text(
            b.resource_type.code(),
            &b.resource_name,
            b.pattern_type.code(),
        );
        match check("CreateAcls", r.error_code, r.error_message.as_ref()) {
            Ok(()) => outln!("added ACL for `{resource}`: {text}")?,
            Err(e) => failed.push(format!("`{resource}` {text}: {e}")),
        }
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(())
}

/// `acl list`.
fn list(client: &mut Client, o: &AclOptions) -> anyhow::Result<()> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let principal = o.principal.as_ref();
    for f in o.resource_filters()? {
        let req = DescribeAclsRequest {
            resource_type_filter: f.resource_type_filter,
            resource_name_filter: f.resource_name_filter,
            pattern_type_filter: f.pattern_type_filter,
            principal_filter: principal.map(|p| ByteString::from(p.as_str())),
            host_filter: None,
            operation: Operation::Any.code(),
            permission_type: Permission::Any.code(),
            ..Default::default()
        };
        let ResponseBody::DescribeAcls(resp) = client.send(RequestBody::DescribeAcls(req))? else {
            bail!("DescribeAcls answered with another API");
        };
        check("DescribeAcls", resp.error_code, resp.error_message.as_ref())?;
        for r in &resp.resources {
            let key = resource_text(r.resource_type, &r.resource_name, r.pattern_type);
            let entries = groups.entry(key).or_default();
            for a in &r.acls {
                entries.push(entry_text(
                    &a.principal,
                    &a.host,
                    a.operation,
                    a.permission_type,
                ));
            }
        }
    }
    for (resource, mut entries) in groups {
        entries.sort();
        entries.dedup();
        outln!("Current ACLs for resource `{resource}`:")?;
        for e in entries {
            outln!("\t{e}")?;
        }
        outln!()?;
    }
    Ok(())
}

/// `acl remove`.
fn remove(client: &mut Client, o: &AclOptions) -> anyhow::Result<()> {
    let filters = if o.allow_principals.is_empty() && o.deny_principals.is_empty() {
        if o.resources().is_empty() {
            bail!("name a resource: --topic, --group, --cluster or --transactional-id");
        }
        o.resource_filters()?
    } else {
        let pattern = o.pattern(false)?;
        o.bindings(pattern)?.iter().map(exact_filter).collect()
    };
    let req = DeleteAclsRequest {
        filters,
        ..Default::default()
    };
    let ResponseBody::DeleteAcls(resp) = client.send(RequestBody::DeleteAcls(req))? else {
        bail!("DeleteAcls answered with another API");
    };
    let mut failed = Vec::new();
    let mut removed = 0;
    for r in &resp.filter_results {
        if let Err(e) = check("DeleteAcls", r.error_code, r.error_message.as_ref()) {
            failed.push(format!("{e:#}"));
            continue;
        }
        for m in &r.matching_acls {
            let resource = resource_text(m.resource_type, &m.resource_name, m.pattern_type);
            let text = entry_text(&m.principal, &m.host, m.operation, m.permission_type);
            match check("DeleteAcls", m.error_code, m.error_message.as_ref()) {
                Ok(()) => {
                    removed += 1;
                    outln!("removed ACL for `{resource}`: {text}")?;
                }
                Err(e) => failed.push(format!("`{resource}` {text}: {e}")),
            }
        }
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    if removed == 0 {
        outln!("no ACL matched")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
