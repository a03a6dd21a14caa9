"""Questions people ask, the answers given, feedback and escalations. No slack_bolt here."""
