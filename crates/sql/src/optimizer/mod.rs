//! Rewrites of a bound plan that change how it runs, never what it
//! answers. The planner (`crate::plan`) turns SQL into operators in the
//! order the statement wrote them; the rules here move work to where it is
//! cheapest before the executor (`crate::exec`) runs it.

pub mod joins;
