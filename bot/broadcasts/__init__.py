"""Leader updates: compose, audience, delivery through the outbox, acknowledgements."""
