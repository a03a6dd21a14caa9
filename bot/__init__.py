"""changebot: a Slack assistant for change programmes."""
