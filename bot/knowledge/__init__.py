"""Playbook -> chunks -> index -> retrieval -> answer. Never imports slack_bolt."""
