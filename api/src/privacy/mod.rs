//! Privacy operations beyond erasure itself (`db::erasure`): what is held about one person, for
//! them to see; the erasure log; and retention, which forgets on schedule.

pub mod export;
pub mod log;
pub mod retention;
