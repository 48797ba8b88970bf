-- Reading media files' sizes and ages without reading their bytes (issue 24, fourth part).
-- A media row holds its bytes before its size and its age: on SQLite, reading `size` or
-- `created_at` from the row walks the chain of overflow pages that a large file spills onto,
-- so a deck's total (the per-deck limit) or the clean-up of unused files read every byte of
-- every file they touch. These covering indexes answer both from the index alone, on either
-- backend; `size` is written with every file already, so nothing needs filling in.
CREATE INDEX media_size ON media (hash, size);
CREATE INDEX media_created ON media (created_at, hash);
