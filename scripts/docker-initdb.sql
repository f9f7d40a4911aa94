-- Run once by the postgres image on first start, as the superuser (pgvector is not a trusted extension).
CREATE EXTENSION IF NOT EXISTS vector;
\c template1
CREATE EXTENSION IF NOT EXISTS vector;
