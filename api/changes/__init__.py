"""Live changes: one upstream feed per worker and database, fanned out to its subscribers in memory."""
