"""The Slack surface: the Bolt app, its listeners and Block Kit builders."""
