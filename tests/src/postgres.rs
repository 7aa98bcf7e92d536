//! The PostgreSQL server a test starts for itself: kept by the store's PostgreSQL crate (the
//! service's and the store's own tests start it too), named here for the stories.

pub use kabinet_store_pg::test_server::PgServer;
