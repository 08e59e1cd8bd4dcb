//! Privacy operations beyond erasure itself (`db::erasure`): what is held about one person, for
//! them to see.

pub mod export;
pub mod log;
