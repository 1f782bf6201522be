//! [`Role`]: whether a node is a member of the overlay or a client of it.

/// What a node is to the network. The node hands its role to the overlay
/// ([`crate::Overlay::bootstrap`]) and to the transport, so that client
/// mode is one setting ([`crate::NodeConfig::role`]) every part obeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Role {
    /// A full member (the default): it takes a place in the overlay's
    /// routing structure, answers routing requests and stores records for
    /// others.
    #[default]
    Member,
    /// A client: it routes and runs puts and gets through members but never
    /// takes a place in the overlay, never counts itself as a replica and
    /// refuses to store for others. It says so when it connects, and
    /// members answer it without taking it into their routing state — for
    /// short-lived processes such as a command-line `put`, whose exit then
    /// loses nothing and leaves no dead entry behind.
    Client,
}

impl Role {
    /// Whether this is [`Role::Client`].
    pub fn is_client(self) -> bool {
        self == Role::Client
    }
}
