"""Deciding: the policy that turns chat state and a parse into the next move."""
