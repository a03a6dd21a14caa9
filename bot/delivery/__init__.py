"""The outbox: durable, rate-limited, idempotent sending to Slack (surveys and broadcasts)."""
