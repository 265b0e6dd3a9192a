"""Answering: rendering responses, formats, and the municipality's facts."""
