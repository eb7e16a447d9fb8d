//! What the API sends and takes, as JSON in camelCase.

pub(crate) mod actions;
pub(crate) mod bulk;
pub(crate) mod create;
pub(crate) mod input;
pub(crate) mod insight;
pub(crate) mod job;
pub(crate) mod logs;
pub(crate) mod notifications;
pub(crate) mod update;

pub(crate) use self::job::JobDto;
