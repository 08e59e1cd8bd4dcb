//! Keeping enrolments in step with ministry and municipal systems, the systems of record for who
//! their officials are: source systems and the ids they know records by (`external_ids`), bulk
//! upserts through the booking rules (`upsert`), a change feed that never skips a change
//! (`feed`), a snapshot to start from (`snapshot`), signed webhooks (`webhooks`) and CSV on the
//! command line (`csv`).

pub mod csv;
pub mod enrolments;
pub mod external_ids;
pub mod feed;
pub mod participants;
pub mod upsert;
pub mod webhooks;
