"""Custom actions: rasa-sdk Action classes, one per file."""
