//! The cases, by contract area. Each takes the factory and checks one part of the store
//! contract; each is named after what it proves.

pub mod claims;
pub mod control;
pub mod definitions;
pub mod leases;
pub mod listing;
pub mod locks;
pub mod logs;
pub mod nodes;
pub mod outbox;
pub mod races;
pub mod reference;
pub mod robustness;
pub mod run_logs;
pub mod statistics;
pub mod wild;

pub use self::claims::*;
pub use self::control::*;
pub use self::definitions::*;
pub use self::leases::*;
pub use self::listing::*;
pub use self::locks::*;
pub use self::logs::*;
pub use self::nodes::*;
pub use self::outbox::*;
pub use self::races::*;
pub use self::reference::*;
pub use self::robustness::*;
pub use self::run_logs::*;
pub use self::statistics::*;
pub use self::wild::*;
