"""Keep a chunk's row, its vector included, in the table's own page instead of TOAST.

A chunk row holds a 384-float vector (1.5 kB), its text and its tsvector: about 4 kB, over
PostgreSQL's 2 kB TOAST threshold, so the toaster moved the largest values out of line, the vector
first. Every candidate of a question then cost one lookup in the TOAST table for its vector (the
distance is computed at full precision from it) and one for its tsvector (the term evidence), and
every page neighbour one more for its vector. ``toast_tuple_target`` at its maximum keeps rows up
to a page inline, and ``STORAGE MAIN`` makes the vector the last value moved out when a row is
bigger still (1536- or 3072-float vectors): text and tsvector go first. Measured in
docs/BENCHMARKS.md ("Chunk rows inline"): 3% fewer bytes on disk, 0.5–0.7 ms less per question at
100k chunks, an exact scan three times faster.

Only rows written from now on are laid out this way; ``VACUUM FULL rag_knowledgechunk`` rewrites
the existing ones (docs/DEPLOYMENT.md). Both settings are catalog changes: the table is not
rewritten.
"""

from django.db import migrations

FORWARD = "ALTER TABLE rag_knowledgechunk ALTER COLUMN embedding SET STORAGE MAIN, SET (toast_tuple_target = 8160)"
BACKWARD = "ALTER TABLE rag_knowledgechunk ALTER COLUMN embedding SET STORAGE EXTERNAL, RESET (toast_tuple_target)"


class Migration(migrations.Migration):
    dependencies = [("rag", "0005_query_term_shares_function")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
