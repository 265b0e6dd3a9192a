"""Acting: the rasa-sdk action executor and guided forms."""
