"""Listening: announcements, polls, broadcasts, subscriptions and feedback."""
