//! ACL bindings and filters, with Kafka's codes for resource types,
//! pattern types, operations and permissions.

macro_rules! codes {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal, $text:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant = $code,)*
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL_VALUES: &'static [$name] = &[$($name::$variant,)*];

            /// Kafka's code.
            pub fn code(self) -> i8 {
                self as i8
            }

            /// The value of a code (`None`: UNKNOWN, 0, or a code Kafka
            /// does not define).
            pub fn from_code(code: i8) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// Kafka's name (`TRANSACTIONAL_ID`).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The value of a name, case-insensitively, `-` taken for `_`
            /// (`transactional-id`, `Prefixed`).
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.replace('-', "_");
                Self::ALL_VALUES.iter().copied().find(|v| v.name().eq_ignore_ascii_case(&s))
            }
        }
    };
}

codes! {
    /// Kafka's `ResourceType`.
    ResourceType {
        /// Any type (filters only).
        Any = 1, "ANY";
        /// A topic.
        Topic = 2, "TOPIC";
        /// A consumer group.
        Group = 3, "GROUP";
        /// The cluster (named `kafka-cluster`).
        Cluster = 4, "CLUSTER";
        /// A transactional id.
        TransactionalId = 5, "TRANSACTIONAL_ID";
        /// A delegation token.
        DelegationToken = 6, "DELEGATION_TOKEN";
        /// A user (for delegation tokens).
        User = 7, "USER";
    }
}

codes! {
    /// Kafka's `PatternType`.
    PatternType {
        /// Any pattern type (filters only).
        Any = 1, "ANY";
        /// Whatever matches a resource name (filters only): the literal
        /// name, the wildcard, and prefixes of it.
        Match = 2, "MATCH";
        /// The exact name, or `*` for every resource of the type.
        Literal = 3, "LITERAL";
        /// Every name starting with the pattern's name.
        Prefixed = 4, "PREFIXED";
    }
}

codes! {
    /// Kafka's `AclOperation`.
    Operation {
        /// Any operation (filters only).
        Any = 1, "ANY";
        /// Every operation.
        All = 2, "ALL";
        /// Read.
        Read = 3, "READ";
        /// Write.
        Write = 4, "WRITE";
        /// Create.
        Create = 5, "CREATE";
        /// Delete.
        Delete = 6, "DELETE";
        /// Alter.
        Alter = 7, "ALTER";
        /// Describe.
        Describe = 8, "DESCRIBE";
        /// Inter-broker actions.
        ClusterAction = 9, "CLUSTER_ACTION";
        /// Describe configs.
        DescribeConfigs = 10, "DESCRIBE_CONFIGS";
        /// Alter configs.
        AlterConfigs = 11, "ALTER_CONFIGS";
        /// Idempotent produce.
        IdempotentWrite = 12, "IDEMPOTENT_WRITE";
        /// Create delegation tokens.
        CreateTokens = 13, "CREATE_TOKENS";
        /// Describe delegation tokens.
        DescribeTokens = 14, "DESCRIBE_TOKENS";
    }
}

codes! {
    /// Kafka's `AclPermissionType`.
    Permission {
        /// Any permission (filters only).
        Any = 1, "ANY";
        /// Deny: wins over every ALLOW.
        Deny = 2, "DENY";
        /// Allow.
        Allow = 3, "ALLOW";
    }
}

impl Operation {
    /// Whether an ALLOW of `self` allows `op`: itself, everything for
    /// ALL, DESCRIBE for READ/WRITE/DELETE/ALTER, DESCRIBE_CONFIGS for
    /// ALTER_CONFIGS (Kafka's implied operations).
    pub fn implies(self, op: Operation) -> bool {
        use Operation::*;
        self == op
            || self == All
            || (op == Describe && matches!(self, Read | Write | Delete | Alter))
            || (op == DescribeConfigs && self == AlterConfigs)
    }
}

impl ResourceType {
    /// The operations that apply to resources of this type (those
    /// `authorized_operations` reports on).
    pub fn operations(self) -> &'static [Operation] {
        use Operation::*;
        match self {
            ResourceType::Topic => &[
                Read,
                Write,
                Create,
                Delete,
                Alter,
                Describe,
                DescribeConfigs,
                AlterConfigs,
            ],
            ResourceType::Group => &[Read, Describe, Delete],
            ResourceType::Cluster => &[
                Create,
                ClusterAction,
                DescribeConfigs,
                AlterConfigs,
                IdempotentWrite,
                Alter,
                Describe,
            ],
            ResourceType::TransactionalId => &[Describe, Write],
            ResourceType::DelegationToken => &[Describe],
            ResourceType::User => &[CreateTokens, DescribeTokens],
            ResourceType::Any => &[],
        }
    }
}

/// The one cluster resource's name.
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// The wildcard resource name and host.
pub const WILDCARD: &str = "*";

/// One ACL: a resource pattern, and who may (or may not) do what on it
/// from where.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBinding {
    /// The resource type (never ANY).
    pub resource_type: ResourceType,
    /// The resource name, a prefix, or `*`.
    pub resource_name: String,
    /// LITERAL or PREFIXED.
    pub pattern_type: PatternType,
    /// `User:alice`, or `User:*` for every user.
    pub principal: String,
    /// An IP address, or `*` for every host.
    pub host: String,
    /// The operation (never ANY).
    pub operation: Operation,
    /// ALLOW or DENY.
    pub permission: Permission,
}

impl AclBinding {
    /// Whether the pattern covers the resource named `name`.
    pub fn matches_name(&self, name: &str) -> bool {
        match self.pattern_type {
            PatternType::Literal => self.resource_name == WILDCARD || self.resource_name == name,
            PatternType::Prefixed => name.starts_with(self.resource_name.as_str()),
            _ => false,
        }
    }
}

/// A filter over ACLs, as DescribeAcls and DeleteAcls carry one: `None`
/// fields match anything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AclFilter {
    /// The resource type (`None`: ANY).
    pub resource_type: Option<ResourceType>,
    /// The resource name (`None`: any).
    pub resource_name: Option<String>,
    /// The pattern type: `None` (ANY), LITERAL, PREFIXED, or MATCH.
    pub pattern_type: Option<PatternType>,
    /// The principal (`None`: any).
    pub principal: Option<String>,
    /// The host (`None`: any).
    pub host: Option<String>,
    /// The operation (`None`: ANY).
    pub operation: Option<Operation>,
    /// The permission (`None`: ANY).
    pub permission: Option<Permission>,
}

impl AclFilter {
    /// Whether `acl` passes the filter. With MATCH, a named resource
    /// matches the ACLs that would apply to it: its literal name, the
    /// literal wildcard, and prefixes of it.
    pub fn matches(&self, acl: &AclBinding) -> bool {
        if self.resource_type.is_some_and(|t| t != acl.resource_type) {
            return false;
        }
        let name_ok = match (self.pattern_type, &self.resource_name) {
            (Some(PatternType::Match), Some(name)) => acl.matches_name(name),
            (Some(PatternType::Match) | None, None) => true,
            (Some(p), None) => p == acl.pattern_type,
            (None, Some(name)) => acl.resource_name == *name,
            (Some(p), Some(name)) => p == acl.pattern_type && acl.resource_name == *name,
        };
        name_ok
            && self.principal.as_ref().is_none_or(|p| *p == acl.principal)
            && self.host.as_ref().is_none_or(|h| *h == acl.host)
            && self.operation.is_none_or(|o| o == acl.operation)
            && self.permission.is_none_or(|p| p == acl.permission)
    }
}
