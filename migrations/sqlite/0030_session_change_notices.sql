-- PostgreSQL's migration of this number adds triggers that tell every app server sharing the
-- database when a cached session goes stale. A SQLite file has one server, which forgets its
-- cached sessions itself when it changes them (src/web/session_cache.rs): nothing to add here.
SELECT 1;
