//! Types that can only hold valid values, parsed from client input at the edge.

pub mod booking;
pub mod email;
pub mod ids;
pub mod input;
pub mod pagination;
pub mod time;
