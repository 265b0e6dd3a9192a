"""Running Balie: the runner, health, metrics, logs and supervisor commands."""
